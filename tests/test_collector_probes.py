"""Probe statuses of the collector on real roots made of plain files."""
import json
import os
import subprocess
import sys

import pytest

from migrate import collector
from migrate.collector import Collector

SB_VAR = "sys/firmware/efi/efivars/" + collector.SECURE_BOOT_VAR


def collect(root, **kw):
    return Collector(root=str(root), **kw).collect()


def test_missing_os_release_is_absent_not_error(make_root):
    facts = collect(make_root({"etc/hostname": "h\n"}))
    assert facts["probes"]["os.os_release"]["status"] == "absent"
    assert facts["os"]["os_release"] is None


def test_uncaptured_proc_is_absent_with_reason(make_root):
    facts = collect(make_root({"etc/hostname": "h\n"}))
    probe = facts["probes"]["kmods.loaded"]
    assert probe["status"] == "absent" and "not captured" in probe["message"]
    assert facts["kmods"]["loaded"] is None
    assert facts["probes"]["system.efi"]["status"] == "absent"
    assert facts["system"]["uefi"] is None


def test_captured_sys_without_efi_means_legacy_bios(make_root):
    facts = collect(make_root({"sys/firmware/acpi/x": "", "sys/fs/.keep": ""}))
    assert facts["system"]["uefi"] is False and facts["system"]["secure_boot"] is False
    assert facts["system"]["selinux_current"] == "disabled"


@pytest.mark.parametrize("byte,expected", [(b"\x01", True), (b"\x00", False)])
def test_secure_boot_read_from_efivar(make_root, byte, expected):
    facts = collect(make_root({SB_VAR: b"\x06\x00\x00\x00" + byte}))
    assert facts["system"]["uefi"] is True and facts["system"]["secure_boot"] is expected


def test_no_rpmdb_is_absent(make_root):
    facts = collect(make_root({"etc/hostname": "h\n"}))
    assert facts["probes"]["packages"]["status"] == "absent"
    assert facts["packages"] is None


@pytest.mark.parametrize("backend", ["bindings", "cli"])
def test_corrupt_rpmdb_is_an_error_never_an_empty_list(make_root, backend):
    root = make_root({"var/lib/rpm/rpmdb.sqlite": b"this is not a database" * 100})
    facts = collect(root, rpm_backend=backend)
    assert facts["probes"]["packages"]["status"] == "error"
    assert facts["packages"] is None
    assert not (root / "root" / ".rpmdb").exists()


def test_release_file_symlinks_are_recorded(make_root):
    root = make_root({"etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n"})
    os.symlink("centos-release", root / "etc" / "redhat-release")
    facts = collect(root)
    files = facts["os"]["release_files"]
    assert files["/etc/redhat-release"] == {"content": "CentOS Linux release 7.9.2009 (Core)",
                                            "symlink": "centos-release"}


def test_a_directory_where_a_file_belongs_is_an_error(make_root):
    root = make_root({"etc/os-release/oops": "x"})
    facts = collect(root)
    assert facts["probes"]["os.os_release"]["status"] == "error"


def test_out_of_tree_modules_and_dkms_trees(make_root):
    kver = "4.18.0-348.7.1.el8_5.x86_64"
    root = make_root({
        "lib/modules/%s/kernel/fs/xfs/xfs.ko.xz" % kver: "x",
        "lib/modules/4.18.0-348.el8.x86_64/extra/wireguard/wireguard.ko": "x",
        "var/lib/dkms/zfs/2.1.5/%s/x86_64/module/zfs.ko.xz" % kver: "x",
        "var/lib/dkms/zfs/2.1.5/%s/x86_64/module/spl.ko.xz" % kver: "x",
    })
    os.makedirs(root / "lib/modules" / kver / "weak-updates/wireguard")
    os.symlink("/lib/modules/4.18.0-348.el8.x86_64/extra/wireguard/wireguard.ko",
               root / "lib/modules" / kver / "weak-updates/wireguard/wireguard.ko")
    os.symlink("%s/x86_64" % kver, root / ("var/lib/dkms/zfs/kernel-%s-x86_64" % kver))
    facts = collect(root)
    oot = {(m["location"], m["kernel_release"], m["module"]) for m in facts["kmods"]["out_of_tree"]}
    assert oot == {("extra", "4.18.0-348.el8.x86_64", "wireguard"), ("weak-updates", kver, "wireguard")}
    weak = [m for m in facts["kmods"]["out_of_tree"] if m["location"] == "weak-updates"][0]
    assert weak["symlink_target"].endswith("extra/wireguard/wireguard.ko")
    assert facts["kmods"]["dkms"] == [{"module": "zfs", "version": "2.1.5", "source": None,
                                      "kernels": [{"kernel_release": kver, "arch": "x86_64",
                                                   "modules": ["spl", "zfs"], "installed": True}]}]


def test_repo_garbage_keeps_good_repos_and_reports_the_file(make_root):
    root = make_root({
        "etc/os-release": 'ID="centos"\nVERSION_ID="7"\n',
        "etc/yum.repos.d/good.repo": "[base]\nname=CentOS-$releasever - Base\n"
                                     "mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch\n"
                                     "gpgcheck=1\n",
        "etc/yum.repos.d/bad.repo": "\x00\x01garbage\n",
    })
    facts = collect(root)
    assert facts["probes"]["repos"]["status"] == "error"
    assert "bad.repo" in facts["probes"]["repos"]["message"]
    assert [r["id"] for r in facts["repos"]["repos"]] == ["base"]
    statuses = {f["path"]: f["status"] for f in facts["repos"]["files"]}
    assert statuses == {"/etc/yum.repos.d/bad.repo": "error", "/etc/yum.repos.d/good.repo": "ok"}


def test_reposdir_from_dnf_conf_is_honoured(make_root):
    root = make_root({
        "etc/dnf/dnf.conf": "[main]\ngpgcheck=1\nreposdir=/etc/custom.repos.d\n",
        "etc/custom.repos.d/x.repo": "[x]\nbaseurl=http://x/\n",
        "etc/yum.repos.d/ignored.repo": "[ignored]\nbaseurl=http://i/\n",
    })
    facts = collect(root)
    assert [r["id"] for r in facts["repos"]["repos"]] == ["x"]
    assert facts["repos"]["main"]["gpgcheck"] == "1"


def test_custom_dnf_vars_expand(make_root):
    root = make_root({
        "etc/os-release": 'ID="centos"\nNAME="CentOS Stream"\nVERSION_ID="8"\n',
        "etc/dnf/vars/stream": "8-stream\n",
        "etc/yum.repos.d/s.repo": "[baseos]\nmirrorlist=http://m/?release=$stream&repo=BaseOS\n",
    })
    repo = collect(root)["repos"]["repos"][0]
    assert repo["expanded"]["mirrorlist"] == "http://m/?release=8-stream&repo=BaseOS"


def test_command_timeout_is_reported_as_timeout():
    status, out, msg = Collector(timeout=0.3).run(["sleep", "5"])
    assert status == "timeout" and out is None


def test_missing_command_is_absent():
    status, out, msg = Collector().run(["no-such-binary-for-migrate"])
    assert status == "absent"


def collect_as_nobody(files, private):
    """Run the collector as `nobody` (setpriv) on a root where `private` paths are 0600.

    Tests run as root, for whom every file is readable; denial needs another user.
    """
    import json
    import shutil
    import tempfile
    from pathlib import Path
    from conftest import write_tree
    base = Path(tempfile.mkdtemp(prefix="migrate-denied-"))  # pytest's tmp is 0700 root-only
    try:
        root = write_tree(base / "root", files)
        for dirpath, dirnames, filenames in os.walk(base):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
        for rel in private:
            os.chmod(root / rel, 0o600)
        proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               sys.executable, "-", "--root", str(root)],
                              input=open(collector.__file__, "rb").read(), capture_output=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    finally:
        shutil.rmtree(base)


def test_unreadable_file_is_denied_for_an_unprivileged_collector():
    facts = collect_as_nobody({"etc/os-release": 'ID="centos"\n', "etc/machine-id": "abc\n"},
                              ["etc/os-release"])
    assert facts["probes"]["os.os_release"]["status"] == "denied"
    assert facts["probes"]["os.machine_id"]["status"] == "ok"


def test_unreadable_rpmdb_is_denied_never_empty():
    facts = collect_as_nobody({"var/lib/rpm/rpmdb.sqlite": b"x" * 4096}, ["var/lib/rpm/rpmdb.sqlite"])
    assert facts["probes"]["packages"]["status"] == "denied"
    assert facts["packages"] is None


def test_nonexistent_root_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-", "--root", str(tmp_path / "nope")],
                          input=open(collector.__file__, "rb").read(), capture_output=True)
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1


def real_sm2_certificate(tmp_path):
    """An SM2/SM3 self-signed certificate made by the machine's OpenSSL 3."""
    key, cert = tmp_path / "sm2.key", tmp_path / "sm2.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(key)], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(key), "-sm3", "-days", "1",
                    "-subj", "/CN=sm2-test", "-sigopt", "distid:1234567812345678", "-out", str(cert)],
                   check=True, capture_output=True)
    return cert.read_bytes()


def test_workloads_images_manifests_cni_bpf_kubelet_cgroup(make_root):
    root = make_root({
        "var/lib/docker/image/overlay2/repositories.json": json.dumps({"Repositories": {
            "quay.io/cilium/cilium": {"quay.io/cilium/cilium:v1.14.5": "sha256:1",
                                      "quay.io/cilium/cilium@sha256:abc": "sha256:1"}}}),
        "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db":
            b"\x00\x01bucket\x00registry.k8s.io/pause:3.9\x00\x02quay.io/cilium/operator-generic:v1.14.5\x00",
        "etc/kubernetes/manifests/kube-apiserver.yaml": "spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.28.4\n",
        "etc/cni/net.d/05-cilium.conflist": '{"plugins": [{"type": "cilium-cni"}, {"type": "portmap"}]}',
        "sys/fs/bpf/tc/globals/cilium_calls_00042": "",
        "var/lib/kubelet/config.yaml": "kind: KubeletConfiguration\ncgroupDriver: systemd\n",
        "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
    })
    w = collect(root)["workloads"]
    assert {i["ref"] for i in w["container_images"]} == {
        "quay.io/cilium/cilium:v1.14.5", "registry.k8s.io/pause:3.9", "quay.io/cilium/operator-generic:v1.14.5"}
    assert w["k8s_manifests"][0]["images"] == ["registry.k8s.io/kube-apiserver:v1.28.4"]
    assert w["cni_configs"][0]["types"] == ["cilium-cni", "portmap"]
    assert w["bpf_pinned"] == ["/sys/fs/bpf/tc/globals/cilium_calls_00042"]
    assert (w["kubelet_cgroup_driver"], w["cgroup_v2"]) == ("systemd", True)


def test_cgroup_and_bpf_unknown_when_sys_not_captured(make_root):
    facts = collect(make_root({"etc/hostname": "h\n"}))
    assert facts["workloads"]["cgroup_v2"] is None and facts["workloads"]["bpf_pinned"] is None
    assert facts["probes"]["system.cgroup"]["status"] == "absent"


def test_sm_usage_openssl_config_and_real_sm2_certificate(make_root, tmp_path):
    root = make_root({
        "etc/pki/tls/openssl.cnf": "# SM2 is mentioned in a comment only\n[req]\ndefault_md = sm3\n",
        "etc/pki/tls/certs/sm2.pem": real_sm2_certificate(tmp_path),
        "etc/pki/tls/certs/rsa.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    })
    w = collect(root)["workloads"]
    assert [(l["path"], l["line"]) for l in w["openssl_sm_lines"]] == [("/etc/pki/tls/openssl.cnf", 3)]
    assert w["sm2_certificates"] == [{"path": "/etc/pki/tls/certs/sm2.pem",
                                      "oids": ["1.2.156.10197.1.301", "1.2.156.10197.1.501"]}]
