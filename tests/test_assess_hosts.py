"""`migrate assess` end to end on real test hosts (rpmbuild + rpm --root, sqlite and bdb)."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from migrate import exitcodes
from migrate.engine import STATUSES, discover_checks

pytestmark = pytest.mark.integration


def rpm_qa(host):
    """The oracle: Debian's rpm binary listing the root's rpmdb."""
    out = host.rpm("-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n")
    return sorted(line for line in out.splitlines() if line)


def nvra(pkg):
    # rpm prints "(none)" for the arch of gpg-pubkey entries (imported keys).
    return "%s-%s-%s.%s" % (pkg["name"], pkg["version"], pkg["release"], pkg["arch"] or "(none)")


@pytest.fixture(scope="module")
def k8s(built_hosts):
    return built_hosts("centos8-k8s")


@pytest.fixture(scope="module")
def oc8_repo():
    from hosts.targets import opencloudos8_repo
    return opencloudos8_repo()


@pytest.fixture(scope="module")
def k8s_report(k8s, oc8_repo):
    from conftest import run_cli
    result = run_cli("assess", "--root", str(k8s.root), "--target", "opencloudos-8", "--json",
                     "--target-repo", str(oc8_repo))
    # the ELRepo wireguard kmod and the DKMS zfs module must be rebuilt: blockers
    assert result.code == exitcodes.BLOCKERS, result
    return result.json()


def test_target_repo_metadata_is_used_for_package_availability(k8s_report, oc8_repo):
    from hosts.targets import DROPPED
    check = [c for c in k8s_report["checks"] if c["id"] == "packages.target_availability"][0]
    assert check["status"] == "findings"
    finding = [f for f in k8s_report["findings"] if f["id"] == "packages.unavailable_in_target"][0]
    # exactly the CentOS packages the test repo lacks; not the release packages the swap replaces,
    # not third-party packages, not gpg-pubkey
    assert finding["subjects"] == sorted(DROPPED)
    assert str(oc8_repo) in finding["summary"]
    assert k8s_report["summary"]["verdict"] == "blocked" and k8s_report["summary"]["complete"]


def test_assess_lists_exactly_the_packages_rpm_lists(k8s, k8s_report):
    listed = sorted(nvra(p) for p in k8s_report["facts"]["packages"])
    assert listed == rpm_qa(k8s)
    pubkeys = [p for p in listed if p.startswith("gpg-pubkey-")]
    assert len(listed) == len(k8s.spec.packages) + len(pubkeys) and pubkeys


def test_vendor_and_signing_key_of_every_package(k8s, k8s_report):
    expected = {"%s-%s-%s.%s" % (p.name, p.version, p.release, p.arch):
                (p.vendor or None, k8s.keys[p.sign_key] if p.sign_key else None)
                for p in k8s.spec.packages}
    packages = k8s_report["facts"]["packages"]
    got = {nvra(p): (p["vendor"], p["sigkey_id"]) for p in packages if p["name"] != "gpg-pubkey"}
    assert got == expected
    # Imported keys are rpmdb entries named after the short key id, as on a real host.
    imported = {p["version"] for p in packages if p["name"] == "gpg-pubkey"}
    assert imported and imported <= {key[-8:] for key in k8s.keys.values()}
    by_name = {p["name"]: p for p in k8s_report["facts"]["packages"]}
    assert by_name["docker-ce"]["vendor"] == "Docker"
    assert by_name["docker-ce"]["sigkey_id"] == k8s.keys["docker"]
    assert by_name["acme-agent"]["sigkey_id"] is None


def test_repos_from_every_repo_file(k8s_report):
    repos = {r["id"]: r for r in k8s_report["facts"]["repos"]["repos"]}
    assert {"baseos", "appstream", "extras", "docker-ce-stable", "kubernetes", "elrepo"} <= set(repos)
    assert repos["baseos"]["file"] == "/etc/yum.repos.d/CentOS-Linux-BaseOS.repo"
    assert "$releasever" in (repos["baseos"]["mirrorlist"] or "")
    assert "$releasever" not in repos["baseos"]["expanded"]["mirrorlist"]
    assert k8s_report["facts"]["probes"]["repos"]["status"] == "ok"


def test_out_of_tree_module_and_its_owning_package(k8s_report):
    facts = k8s_report["facts"]
    kmod = [p for p in facts["packages"] if p["name"] == "kmod-wireguard"][0]
    extra = {m["module"]: m for m in facts["kmods"]["out_of_tree"] if m["location"] == "extra"}
    # wireguard comes from a kmod package; zfs was installed by `dkms install`, unowned.
    assert {name: m["owners"] for name, m in extra.items()} == {"wireguard": [kmod["nevra"]],
                                                                "zfs": []}
    weak = [m for m in facts["kmods"]["out_of_tree"] if m["location"] == "weak-updates"]
    assert [(m["module"], m["owners"]) for m in weak] == [("wireguard", [])]
    assert weak[0]["symlink_target"] == extra["wireguard"]["path"]
    assert [d["module"] for d in facts["kmods"]["dkms"]] == ["zfs"]
    loaded = {m["name"]: m for m in facts["kmods"]["loaded"]}
    assert loaded["wireguard"]["taint"] == "OE"


def test_kernel_facts_from_the_newest_kernel_package(k8s_report):
    kernel = k8s_report["facts"]["kernel"]
    assert kernel["release"] == "4.18.0-348.7.1.el8_5.x86_64"
    assert kernel["release_source"] == "newest_installed_package"
    assert kernel["config"]["CONFIG_BPF_SYSCALL"] == "y"
    assert kernel["btf"] is True


def test_every_check_has_a_status(k8s_report):
    ids = {c.id for c in discover_checks().checks}
    statuses = {c["id"]: c["status"] for c in k8s_report["checks"]}
    assert set(statuses) == ids
    assert set(statuses.values()) <= set(STATUSES)
    assert k8s_report["summary"]["complete"] is True


def test_bindings_and_cli_fallback_collect_the_same_packages(k8s):
    from migrate.collector import Collector
    by_bindings = Collector(root=str(k8s.root), rpm_backend="bindings").collect()
    by_cli = Collector(root=str(k8s.root), rpm_backend="cli").collect()
    assert by_bindings["collector"]["rpm_backend"] == "bindings"
    assert by_cli["collector"]["rpm_backend"] == "cli"
    assert by_bindings["packages"] == by_cli["packages"]
    assert by_bindings["kmods"] == by_cli["kmods"]


def test_collector_piped_to_an_interpreter_matches_in_process(k8s):
    """The way a remote host runs it: `python - --root R < collector.py`."""
    from migrate.collector import Collector
    src = (REPO / "migrate" / "collector.py").read_bytes()
    proc = subprocess.run(["/usr/bin/python3", "-", "--root", str(k8s.root)], input=src,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    piped = json.loads(proc.stdout)
    local = Collector(root=str(k8s.root)).collect()
    for volatile in ("collected_at", "collector"):
        piped.pop(volatile), local.pop(volatile)
    for facts in (piped, local):  # free space moves between two runs on a busy disk
        for fs in facts["system"]["filesystems"]:
            fs.pop("free_bytes"), fs.pop("avail_bytes")
    assert piped == local


def snapshot(root):
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path) and "/var/lib/rpm" in path:
                digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
            state[path] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state


@pytest.mark.parametrize("backend", ["bindings", "cli"])
def test_assessment_never_writes_to_the_root(k8s, backend):
    from conftest import run_cli
    before = snapshot(k8s.root)
    result = run_cli("assess", "--root", str(k8s.root), "--target", "anolis-8", "--json",
                     "--rpm-backend", backend, "--allow-incomplete")
    assert result.code == exitcodes.BLOCKERS, result
    assert snapshot(k8s.root) == before
    assert not (k8s.root / "root" / ".rpmdb").exists()


@pytest.mark.parametrize("backend", ["bindings", "cli"])
def test_berkeley_db_rpmdb_is_read_like_a_real_el_host(built_hosts, backend):
    host = built_hosts("centos8-bdb")
    assert (host.root / "var/lib/rpm/Packages").exists()
    assert not (host.root / "var/lib/rpm/rpmdb.sqlite").exists()
    from migrate.collector import Collector
    facts = Collector(root=str(host.root), rpm_backend=backend).collect()
    assert facts["probes"]["packages"]["status"] == "ok"
    assert sorted(nvra(p) for p in facts["packages"]) == rpm_qa(host)


def test_centos7_host_paths(built_hosts):
    from conftest import run_cli
    host = built_hosts("centos7-minimal")
    swap = run_cli("assess", "--root", str(host.root), "--target", "anolis-7", "--json",
                   "--allow-incomplete")
    assert swap.code == exitcodes.OK, swap
    report = swap.json()
    assert report["source"]["label"] == "CentOS Linux 7.9"
    assert [f["id"] for f in report["findings"] if f["id"].startswith("system.migration")] == [
        "system.migration_repo_swap"]
    assert report["summary"]["blockers"] == 0
    assert report["facts"]["kernel"]["release"] == "3.10.0-1160.119.1.el7.x86_64"
    assert sorted(nvra(p) for p in report["facts"]["packages"]) == rpm_qa(host)
    cross = run_cli("assess", "--root", str(host.root), "--target", "opencloudos-8", "--json",
                    "--allow-incomplete")
    assert cross.code == exitcodes.BLOCKERS
    assert "system.migration_cross_major" in [f["id"] for f in cross.json()["findings"]
                                              if f["severity"] == "blocker"]


def test_signature_parser_agrees_with_rpms_own_pgpsig(k8s, k8s_report):
    """rpm's `pgpsig` rendering is the oracle for our OpenPGP packet parser."""
    out = k8s.rpm("-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\t"
                  "%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{(none)}|\n")
    oracle = {}
    for line in out.splitlines():
        name, sig = line.split("\t")
        oracle[name] = (None, None) if sig == "(none)" else (
            sig.rsplit("Key ID ", 1)[1].strip().lower(), sig.split(",")[0])
    ours = {nvra(p): (p["sigkey_id"], p["sig_algo"]) for p in k8s_report["facts"]["packages"]}
    assert ours == oracle
    assert sum(1 for key, _ in ours.values() if key) > 300


def test_manifest_build_snapshot_then_assess_with_it(k8s, oc8_repo, k8s_report, tmp_path):
    from conftest import run_cli
    snapshot = tmp_path / "oc8.snapshot.json.gz"
    built = run_cli("manifest", "build", "--repo", str(oc8_repo), "-o", str(snapshot))
    assert built.code == exitcodes.OK, built
    assert "wrote %s" % snapshot in built.stderr
    result = run_cli("assess", "--root", str(k8s.root), "--target", "opencloudos-8", "--json",
                     "--target-repo", str(snapshot))
    assert result.code == exitcodes.BLOCKERS, result
    by_snapshot = {f["id"]: f["subjects"] for f in result.json()["findings"]}
    by_repo = {f["id"]: f["subjects"] for f in k8s_report["findings"]}
    assert by_snapshot == by_repo


def test_unreadable_target_repo_is_one_line(k8s, tmp_path):
    from conftest import run_cli
    (tmp_path / "repodata").mkdir()
    (tmp_path / "repodata" / "repomd.xml").write_text("<repomd><data type='primary'>")
    result = run_cli("assess", "--root", str(k8s.root), "--target", "opencloudos-8",
                     "--target-repo", str(tmp_path))
    assert result.code == exitcodes.BAD_INPUT
    lines = [l for l in result.stderr.splitlines() if l.startswith("migrate: error: ")]
    assert len(lines) == 1 and "repomd.xml" in lines[0] and "Traceback" not in result.stderr


def test_cilium_host_kernel_diff_and_sm_matrix_in_the_report(built_hosts):
    """Issue 5's end-to-end: a CentOS 7 host running Cilium 1.14, against OpenCloudOS 9 and 8."""
    from conftest import run_cli
    host = built_hosts("centos7-cilium")
    result = run_cli("assess", "--root", str(host.root), "--target", "opencloudos-9", "--json",
                     "--allow-incomplete")
    report = result.json()
    diff = report["kernel_diff"]
    assert diff["capabilities"] and diff["source"] and diff["target"]
    cilium = diff["cilium"][0]
    assert cilium["need"]["kind"] == "cilium"
    assert (cilium["source"]["status"], cilium["target"]["status"]) == ("no", "yes")
    assert cilium["source"]["evidence"] and cilium["target"]["evidence"]
    assert "cilium.reason_to_migrate" in {f["id"] for f in report["findings"]}
    matrix = report["sm_matrix"]
    assert set(matrix["source"]) and set(matrix["target"]) and matrix["target_id"] == "opencloudos-9"
    oc8 = run_cli("assess", "--root", str(host.root), "--target", "opencloudos-8", "--json",
                  "--allow-incomplete").json()
    readiness = [f for f in oc8["findings"] if f["id"] == "sm.readiness"][0]
    assert {"kernel/sm2", "kernel/sm3", "kernel/sm4"} <= set(readiness["subjects"])
