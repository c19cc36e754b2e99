"""Tests of the test-host builder (tests/hostbuild) and the named hosts (tests/hosts).

Everything here is real: RPMs built by rpmbuild, signed by rpmsign/gpg,
installed by `rpm --root`, read back by rpm and by the rpm Python bindings of
/usr/bin/python3. Built hosts are cached ($MIGRATE_TEST_CACHE or tests/.cache).
"""

import json
import multiprocessing
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import hostbuild
from hostbuild import HostSpec, Pkg, Symlink, bdb, build_host, build_repo, get_host
from hostbuild.tools import tool_env

pytestmark = pytest.mark.integration

HOSTS = ["centos7-minimal", "centos8-k8s", "centos8-bdb"]
SYSTEM_PYTHON = "/usr/bin/python3"      # Debian's python3 has the rpm bindings

for _tool in ("rpm", "rpmbuild", "rpmsign", "gpg", "createrepo_c"):
    if shutil.which(_tool) is None:
        raise RuntimeError("%s is required for the integration tests (apt packages rpm, "
                           "createrepo-c, gnupg, db5.3-util, python3-rpm)" % _tool)


def _snapshot(path: Path):
    if not path.exists():
        return None
    return sorted((str(p.relative_to(path)), p.stat().st_mtime_ns)
                  for p in [path] + list(path.rglob("*")))


@pytest.fixture(scope="module")
def untouched_host_dbs():
    """Snapshots of the real ~/.rpmdb and /var/lib/rpm taken before any build."""
    home_db = Path(os.path.expanduser("~")) / ".rpmdb"
    return {home_db: _snapshot(home_db), Path("/var/lib/rpm"): _snapshot(Path("/var/lib/rpm"))}


@pytest.fixture(scope="module")
def hosts(untouched_host_dbs):
    return {name: get_host(name) for name in HOSTS}


def _rpm_lines(host, *args):
    return [ln for ln in host.rpm(*args).splitlines() if ln.strip()]


@pytest.mark.parametrize("name", HOSTS)
def test_rpm_qa_lists_exactly_the_spec(hosts, name):
    host = hosts[name]
    assert host.root.is_absolute() and host.root.is_dir()
    nevras = _rpm_lines(host, "-qa", "--qf", "%{NEVRA}\n")
    pkgs = sorted(n for n in nevras if not n.startswith("gpg-pubkey-"))
    assert pkgs == sorted(p.nevra for p in host.spec.packages)
    # default output is N-V-R.A without epoch, like on the real host
    plain = {n for n in _rpm_lines(host, "-qa") if not n.startswith("gpg-pubkey-")}
    assert plain == {p.nvra for p in host.spec.packages}
    # imported keys show up as gpg-pubkey-<short id>-<created>
    pubkeys = {n.split("-")[2] for n in nevras if n.startswith("gpg-pubkey-")}
    assert pubkeys == {host.keys[label][-8:] for label in host.spec.import_keys}


@pytest.mark.parametrize("name", HOSTS)
def test_vendor_and_signature_key_of_every_package(hosts, name):
    host = hosts[name]
    rows = _rpm_lines(host, "-qa", "--qf",
                      "%{NEVRA}|%{VENDOR}|%{PACKAGER}|%{SOURCERPM}|%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}\n")
    got = {r.split("|")[0]: r.split("|")[1:] for r in rows if not r.startswith("gpg-pubkey")}
    for pkg in host.spec.packages:
        vendor, packager, srpm, rsa, pgp = got[pkg.nevra]
        assert vendor == (pkg.vendor or "(none)"), pkg.nevra
        assert packager == (pkg.packager or "(none)"), pkg.nevra
        assert srpm == pkg.sourcerpm, pkg.nevra
        if pkg.sign_key:
            keyid = host.keys[pkg.sign_key]
            assert len(keyid) == 16 and keyid == keyid.lower()
            assert rsa.startswith("RSA/SHA256") and rsa.endswith("Key ID " + keyid), pkg.nevra
            assert pgp.endswith("Key ID " + keyid), pkg.nevra
        else:
            assert rsa == pgp == "(none)", pkg.nevra


def test_rpm_qi_shows_vendor_and_key(hosts):
    c7 = hosts["centos7-minimal"]
    info = c7.rpm("-qi", "kernel")
    assert "Vendor      : CentOS" in info
    assert "Packager    : CentOS BuildSystem <http://bugs.centos.org>" in info
    assert "Key ID %s" % c7.keys["centos7"] in info
    assert "Build Host  : x86-02.bsys.centos.org" in info
    k8s = hosts["centos8-k8s"]
    assert "Vendor      : Docker" in k8s.rpm("-qi", "docker-ce")
    assert "Key ID %s" % k8s.keys["docker"] in k8s.rpm("-qi", "containerd.io")
    assert "Key ID %s" % k8s.keys["kubernetes"] in k8s.rpm("-qi", "kubelet")
    acme = k8s.rpm("-qi", "acme-agent")
    assert "Vendor      : ACME Corp" in acme and "Signature   : (none)" in acme
    wg = k8s.rpm("-qi", "kmod-wireguard")
    assert "Vendor      : The ELRepo Project (http://elrepo.org)" in wg
    assert "Key ID %s" % k8s.keys["elrepo"] in wg
    assert len(set(k8s.keys.values())) == len(k8s.keys)          # one key per label


def test_centos7_release_kernel_and_captured_files(hosts):
    host = hosts["centos7-minimal"]
    root = host.root
    assert (root / "etc/centos-release").read_text() == "CentOS Linux release 7.9.2009 (Core)\n"
    assert os.readlink(root / "etc/redhat-release") == "centos-release"
    assert os.readlink(root / "etc/system-release") == "centos-release"
    assert 'VERSION_ID="7"' in (root / "etc/os-release").read_text()
    assert os.readlink(root / "lib") == "usr/lib" and os.readlink(root / "bin") == "usr/bin"
    owners = _rpm_lines(host, "-qf", "/etc/os-release", "/etc/yum.repos.d/CentOS-Base.repo",
                        "/boot/config-3.10.0-1160.119.1.el7.x86_64", "/lib")
    assert owners == ["centos-release-7-9.2009.1.el7.centos.x86_64"] * 2 + [
        "kernel-3.10.0-1160.119.1.el7.x86_64", "filesystem-3.2-25.el7.x86_64"]
    assert _rpm_lines(host, "-q", "--whatprovides", "system-release(releasever)") == [
        "centos-release-7-9.2009.1.el7.centos.x86_64"]
    repo = (root / "etc/yum.repos.d/CentOS-Base.repo").read_text()
    assert "mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch" in repo
    assert "#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/" in repo
    config = (root / "boot/config-3.10.0-1160.119.1.el7.x86_64").read_text()
    assert "CONFIG_XFS_FS=m" in config
    mdir = root / "lib/modules/3.10.0-1160.119.1.el7.x86_64/kernel"
    for mod in ("drivers/net/virtio_net.ko.xz", "fs/xfs/xfs.ko.xz", "net/netfilter/nf_conntrack.ko.xz"):
        assert (mdir / mod).read_bytes().startswith(b"\xfd7zXZ\x00")
    modules = (root / "proc/modules").read_text()
    assert all(m in modules for m in ("virtio_net ", "xfs ", "nf_conntrack "))
    assert (root / "proc/sys/crypto/fips_enabled").read_text() == "0\n"
    assert (root / "proc/sys/kernel/tainted").read_text() == "0\n"
    assert "name         : sha256" in (root / "proc/crypto").read_text()
    assert "SELINUX=enforcing" in (root / "etc/selinux/config").read_text()
    assert len((root / "etc/machine-id").read_text().strip()) == 32
    assert "processor\t: 0" in (root / "proc/cpuinfo").read_text()


def test_centos8_k8s_third_party_kmods_and_firmware(hosts):
    host = hosts["centos8-k8s"]
    root = host.root
    kver = "4.18.0-348.7.1.el8_5.x86_64"
    assert (root / "etc/centos-release").read_text() == "CentOS Linux release 8.5.2111\n"
    assert os.readlink(root / "etc/os-release") == "../usr/lib/os-release"
    assert _rpm_lines(host, "-qf", "/etc/os-release", "/boot/config-%s" % kver) == [
        "centos-linux-release-8.5-1.2111.el8.noarch", "kernel-core-4.18.0-348.7.1.el8_5.x86_64"]
    assert "CONFIG_DEBUG_INFO_BTF=y" in (root / ("boot/config-%s" % kver)).read_text()
    for repo in ("CentOS-Linux-BaseOS", "CentOS-Linux-AppStream", "CentOS-Linux-Extras"):
        assert _rpm_lines(host, "-qf", "/etc/yum.repos.d/%s.repo" % repo) == [
            "centos-linux-repos-8-3.el8.noarch"]
    for repo in ("docker-ce", "kubernetes", "elrepo"):          # dropped in by hand: unowned
        assert (root / ("etc/yum.repos.d/%s.repo" % repo)).is_file()
        proc = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-qf",
                               "/etc/yum.repos.d/%s.repo" % repo], env=tool_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.returncode == 1 and not proc.stdout.strip()
    mdir = root / "lib/modules" / kver
    for mod in ("net/bridge/br_netfilter", "fs/overlayfs/overlay", "net/netfilter/ipvs/ip_vs",
                "net/netfilter/nf_conntrack", "drivers/net/vxlan", "drivers/net/veth"):
        assert (mdir / "kernel" / (mod + ".ko.xz")).is_file(), mod
    weak = mdir / "weak-updates/wireguard/wireguard.ko"
    target = os.readlink(weak)
    assert target == "/lib/modules/4.18.0-348.el8.x86_64/extra/wireguard/wireguard.ko"
    assert (root / target.lstrip("/")).is_file()
    assert _rpm_lines(host, "-qf", target) == ["kmod-wireguard-1.0.20211208-1.el8_5.elrepo.x86_64"]
    assert _rpm_lines(host, "-qf", "/etc/depmod.d/kmod-wireguard.conf") == [
        "kmod-wireguard-1.0.20211208-1.el8_5.elrepo.x86_64"]
    dkms = root / "var/lib/dkms/zfs/2.1.5"
    assert os.readlink(dkms / "source") == "/usr/src/zfs-2.1.5"
    assert (dkms / kver / "x86_64/module/zfs.ko.xz").is_file()
    assert _rpm_lines(host, "-qf", "/usr/src/zfs-2.1.5/dkms.conf") == ["zfs-dkms-2.1.5-1.el8.noarch"]
    modules = (root / "proc/modules").read_text()
    assert "wireguard 225280 0 - Live 0xffffffffc0a2b000 (OE)\n" in modules
    for mod in ("overlay", "br_netfilter", "nf_conntrack", "vxlan", "ip_vs"):
        assert "\n%s " % mod in modules
    assert (root / "proc/sys/kernel/tainted").read_text() == "12288\n"
    assert "systemd.unified_cgroup_hierarchy=0" in (root / "proc/cmdline").read_text()
    assert "crashkernel=auto" in (root / "proc/cmdline").read_text()
    crypto = (root / "proc/crypto").read_text()
    assert "sm3" not in crypto and "sm4" not in crypto        # CONFIG_CRYPTO_SM3/SM4 not set
    assert (root / "sys/kernel/btf/vmlinux").read_bytes()[:2] == b"\x9f\xeb"
    efivar = root / "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c6c4d5b0a"
    assert efivar.read_bytes() == b"\x06\x00\x00\x00\x00"
    assert (root / "etc/crypto-policies/state/current").read_text() == "DEFAULT\n"
    assert (root / "etc/hostname").read_text() == "k8s-node-01.example.internal\n"


def test_bdb_host_is_berkeley_db_and_readable(hosts):
    host = hosts["centos8-bdb"]
    dbdir = host.root / "var/lib/rpm"
    packages = dbdir / "Packages"
    assert packages.read_bytes()[12:16] == b"\x61\x15\x06\x00"   # DB_HASHMAGIC, little endian
    assert bdb.is_berkeley_db(packages)
    for index in ("Name", "Basenames", "Providename", "Dirnames", "Sha1header"):
        assert bdb.is_berkeley_db(dbdir / index)
    assert not list(dbdir.glob("rpmdb.sqlite*"))
    expected = sorted(p.nevra for p in host.spec.packages)
    nevras = sorted(n for n in _rpm_lines(host, "-qa", "--qf", "%{NEVRA}\n")
                    if not n.startswith("gpg-pubkey"))
    assert nevras == expected
    # the index databases make name and file lookups work, not just -qa
    assert _rpm_lines(host, "-q", "systemd") == ["systemd-239-51.el8_5.2.x86_64"]
    assert _rpm_lines(host, "-qf", "/etc/centos-release") == ["centos-linux-release-8.5-1.2111.el8.noarch"]
    # without --define _db_backend rpm auto-detects bdb_ro (and warns)
    proc = subprocess.run(["rpm", "--root", str(host.root), "--dbpath", "/var/lib/rpm", "-qa"],
                          env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    assert len([ln for ln in proc.stdout.decode().splitlines() if not ln.startswith("gpg-pubkey")]) == len(expected)
    assert b"bdb_ro" in proc.stderr


PY_LIST = """
import json, sys, rpm
rpm.addMacro("_dbpath", "/var/lib/rpm")
if sys.argv[2] == "bdb_ro":
    rpm.addMacro("_db_backend", "bdb_ro")
ts = rpm.TransactionSet(sys.argv[1])
allp = sorted(h["nevra"] for h in ts.dbMatch() if h["name"] != "gpg-pubkey")
byname = [h["nevra"] for h in ts.dbMatch("name", "systemd")]
print(json.dumps({"all": allp, "systemd": byname}))
"""


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="needs Debian's python3-rpm")
@pytest.mark.parametrize("name", ["centos8-bdb", "centos8-k8s", "centos7-minimal"])
def test_python_rpm_bindings_read_the_root(hosts, name):
    host = hosts[name]
    out = subprocess.run([SYSTEM_PYTHON, "-c", PY_LIST, str(host.root), host.rpmdb_backend],
                         env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    data = json.loads(out.stdout)
    assert data["all"] == sorted(p.nevra for p in host.spec.packages)
    assert len(data["systemd"]) == 1 and data["systemd"][0].startswith("systemd-")


def test_second_get_host_is_a_cache_hit(hosts):
    first = hosts["centos7-minimal"]
    mtime = first.path.stat().st_mtime_ns
    t0 = time.time()
    again = get_host("centos7-minimal")
    assert again.cache_hit
    assert again.path == first.path and again.keys == first.keys
    assert again.path.stat().st_mtime_ns == mtime
    assert time.time() - t0 < 2.0


def _tiny_spec(tag: str, version: str = "1.0") -> HostSpec:
    return HostSpec(name="tiny-" + tag, packages=[
        Pkg(name="tiny-" + tag, version=version, release="1.el8", vendor="Test", sign_key="centos8",
            files={"/etc/tiny.conf": "x=1\n", "/usr/bin/tiny": "#!/bin/sh\n",
                   "/usr/lib/tiny/link": Symlink("../../bin/tiny")},
            modes={"/usr/bin/tiny": "0755"}),
        Pkg(name="tiny-%s-data" % tag, version=version, release="1.el8", arch="noarch",
            source="tiny-%s-%s-1.el8" % (tag, version), files={"/usr/share/tiny/data": "d\n"}),
    ], files={"/etc/hostname": "tiny\n"})


def test_changed_spec_rebuilds_and_unchanged_spec_reuses():
    tag = uuid.uuid4().hex[:8]
    one = build_host(_tiny_spec(tag))
    assert not one.cache_hit
    assert build_host(_tiny_spec(tag)).cache_hit
    two = build_host(_tiny_spec(tag, version="1.1"))
    assert not two.cache_hit and two.path != one.path
    assert sorted(_rpm_lines(two, "-qa")) == ["tiny-%s-1.1-1.el8.x86_64" % tag,
                                              "tiny-%s-data-1.1-1.el8.noarch" % tag]
    assert _rpm_lines(two, "-q", "--qf", "%{SOURCERPM}\n", "tiny-%s-data" % tag) == [
        "tiny-%s-1.1-1.el8.src.rpm" % tag]
    assert os.readlink(two.root / "usr/lib/tiny/link") == "../../bin/tiny"
    assert _rpm_lines(two, "-qc", "tiny-" + tag) == ["/etc/tiny.conf"]
    for built in (one, two):
        shutil.rmtree(built.path)


def _build_in_child(tag, queue):
    try:
        host = build_host(_tiny_spec(tag))
        queue.put((str(host.path), host.cache_hit))
    except Exception as exc:             # report, don't hang the parent
        queue.put(("error", repr(exc)))


def test_concurrent_builders_share_one_entry():
    tag = uuid.uuid4().hex[:8]
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=(tag, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r[0] != "error" for r in results), results
    assert len({r[0] for r in results}) == 1
    assert sorted(r[1] for r in results) == [False, True, True]
    path = Path(results[0][0])
    assert not list(path.parent.glob(".tmp-tiny-%s-*" % tag))
    shutil.rmtree(path)


def test_build_repo_makes_a_createrepo_repository():
    tag = uuid.uuid4().hex[:8]
    repo = build_repo(_tiny_spec(tag).packages, name="tiny-" + tag)
    repomd = (repo / "repodata" / "repomd.xml").read_text()
    assert "primary" in repomd
    rpms = sorted(p.name for p in (repo / "Packages").glob("*.rpm"))
    assert rpms == ["tiny-%s-1.0-1.el8.x86_64.rpm" % tag, "tiny-%s-data-1.0-1.el8.noarch.rpm" % tag]
    keys = hostbuild.repo_keys(repo)
    sig = subprocess.run(["rpm", "-qp", "--nosignature", "--qf", "%{RSAHEADER:pgpsig}",
                          str(repo / "Packages" / rpms[0])], env=tool_env(),
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    assert sig.endswith("Key ID " + keys["centos8"])
    assert build_repo(_tiny_spec(tag).packages, name="tiny-" + tag) == repo
    shutil.rmtree(repo)


def test_synthetic_host_small():
    spec = hostbuild.synthetic_host(40, seed=7, rpmdb="bdb")
    assert len(spec.packages) == 40
    assert any(p.files and any(f.startswith("/lib/modules/") for f in p.files)
               for p in hostbuild.synthetic_host(400, seed=7).packages)
    host = build_host(spec)
    assert sorted(_rpm_lines(host, "-qa", "--qf", "%{NEVRA}\n")) == sorted(p.nevra for p in spec.packages)


@pytest.mark.parametrize("name", ["centos7-minimal", "centos8-bdb"])
def test_reading_a_root_changes_nothing_in_it(hosts, name):
    host = hosts[name]
    before = _snapshot(host.root)
    host.rpm("-qa")
    host.rpm("-qi", "bash")
    subprocess.run([SYSTEM_PYTHON, "-c", PY_LIST, str(host.root), host.rpmdb_backend],
                   env=tool_env(), stdout=subprocess.PIPE, check=True)
    assert _snapshot(host.root) == before
    assert not list((host.root / "var/lib/rpm").glob("*-shm"))


def test_nothing_leaks_into_the_real_rpmdbs(hosts, untouched_host_dbs):
    for path, before in untouched_host_dbs.items():
        assert _snapshot(path) == before, path
    for host in hosts.values():
        assert not (host.root / "root" / ".rpmdb").exists()
