"""The packages.* checks on real test hosts (rpmbuild + dnf/rpm --root) and a real target repo.

centos8-traits carries one of each trait (hosts/centos8_traits.py TRAITS), centos8-clean
is the same build without them; the target is the createrepo_c repo of hosts/targets.py.
Assertions are on finding ids, severities, overridable and subjects, never on wording.
Where a case is easier that way, the facts of a real host are changed field by field
(dataclasses.replace) or a Snapshot is made of real target rows plus one.
"""
import dataclasses
from pathlib import Path

import pytest

from factsutil import facts_for_root, with_release
from migrate import exitcodes
from migrate.engine import discover_checks, run_check
from migrate.facts import Probe
from migrate.manifests import load_manifest
from migrate.snapshot import Package as TargetPackage
from migrate.snapshot import Snapshot, load_target_packages

pytestmark = pytest.mark.integration

CHECKS = {c.id: c for c in discover_checks().checks}
EXPECTED = {   # finding id -> (severity, overridable)
    "packages.unavailable_in_target": ("warning", True),
    "packages.newer_than_target": ("warning", True),
    "packages.unsigned": ("warning", True),
    "packages.from_unconfigured_repo": ("warning", True),
    "packages.multilib_unavailable": ("warning", True),
    "packages.kernel_devel_mismatch": ("warning", True),
    "packages.kernel_headers_mismatch": ("info", False),
    "packages.third_party": ("info", False),
    "packages.unknown_distribution_key": ("info", False),
    "packages.replaced_in_target": ("info", False),
    "packages.removed_in_target": ("warning", True),
}


@pytest.fixture(scope="module")
def hosts(built_hosts):
    return {name: built_hosts(name) for name in ("centos8-traits", "centos8-clean", "centos8-k8s",
                                                 "centos7-minimal")}


@pytest.fixture(scope="module")
def facts(hosts):
    return {name: facts_for_root(host.root) for name, host in hosts.items()}


@pytest.fixture(scope="module")
def oc8_repo():
    from hosts.targets import opencloudos8_repo
    return opencloudos8_repo()


@pytest.fixture(scope="module")
def snapshot(oc8_repo):
    return load_target_packages(str(oc8_repo))


def with_target(target, snapshot):
    return dataclasses.replace(load_manifest(target), packages=snapshot, packages_source="test repo")


@pytest.fixture(scope="module")
def oc8(snapshot):
    return with_target("opencloudos-8", snapshot)


def run(check_id, facts, manifest):
    """(status, {finding id: (severity, overridable, subjects)}) of one check."""
    result = run_check(CHECKS[check_id], facts, manifest)
    assert result.status != "error", result.reason
    found = {}
    for f in result.findings:
        assert f.id not in found, "one finding per id"
        assert (f.severity, f.overridable) == EXPECTED[f.id], f.id
        assert f.severity != "warning" or f.remediation.commands, f.id
        found[f.id] = (f.severity, f.overridable, f.subjects)
    return result.status, found


def subjects(found, fid):
    return found[fid][2]


def replace_packages(facts, change):
    """Facts whose packages went through change(pkg) -> pkg (or None to drop it)."""
    pkgs = tuple(p for p in (change(p) for p in facts.packages) if p is not None)
    return dataclasses.replace(facts, packages=pkgs)


# -- the builder's dnf transactions ---------------------------------------------------------------

def test_traits_host_history_records_each_repo(hosts, facts):
    """dnf wrote history.sqlite in the root; the collector reads the same origins from it."""
    from hostbuild.dnfinstall import history_origins
    host = hosts["centos8-traits"]
    recorded = history_origins(host.root)
    expected = {host.spec.transaction_package(ref).nevra: txn.repo
                for txn in host.spec.transactions for ref in txn.packages}
    assert recorded == expected
    assert facts["centos8-traits"].pkgmgr.origins == recorded
    assert {"anaconda", "baseos", "epel", "docker-ce-stable", "nginx-stable", "acme-internal",
            "@commandline"} == set(recorded.values())
    assert not (host.root / "root" / ".rpmdb").exists()
    assert not list((host.root / "var/lib/dnf").glob("*-wal"))
    # dnf kept its metadata cache inside the root (and the builder removed it), not in the
    # build machine's own cache
    system_cache = Path("/var/cache/dnf")
    leaked = [p.name for p in system_cache.iterdir() if p.name.startswith(("anaconda", "acme-internal"))] \
        if system_cache.is_dir() else []
    assert leaked == [] and not (host.root / "var/cache/dnf").exists()


def test_transactions_must_place_every_package_once():
    from hostbuild import HostSpec, Pkg, Transaction
    a, b = Pkg("a", "1", "1.el8"), Pkg("b", "1", "1.el8")
    with pytest.raises(ValueError, match="in no transaction: b.x86_64"):
        HostSpec("h", [a, b], transactions=(Transaction("baseos", ("a",)),), releasever="8")
    with pytest.raises(ValueError, match="in two transactions"):
        HostSpec("h", [a], transactions=(Transaction("baseos", ("a",)), Transaction("epel", ("a.x86_64",))),
                 releasever="8")
    with pytest.raises(ValueError, match="bad repo id"):
        Transaction("bad id", ("a",))
    plain = HostSpec("h", [a, b])
    assert "transactions" not in plain.canonical()     # specs without them keep their digest


# -- availability ---------------------------------------------------------------------------------

def test_unavailable_in_target(facts, oc8):
    status, found = run("packages.target_availability", facts["centos8-traits"], oc8)
    assert subjects(found, "packages.unavailable_in_target") == ("libssh-config",)
    assert run("packages.target_availability", facts["centos8-clean"], oc8) == ("passed", {})


def test_availability_by_provides_and_by_architecture(facts, snapshot):
    # libssh-config becomes available when a target package of its arch provides the name ...
    extra = TargetPackage("libssh", 0, "0.9.6", "1.oc8", "x86_64", ("libssh", "libssh-config"), (), 0)
    provided = Snapshot(snapshot.packages + (extra,), snapshot.repos, "", "test")
    status, _ = run("packages.target_availability", facts["centos8-traits"],
                    with_target("opencloudos-8", provided))
    assert status == "passed"
    # ... and a name the target has only for another architecture does not count
    rows = tuple(p._replace(arch="aarch64") if p.name == "sudo" else p for p in snapshot.packages)
    status, found = run("packages.target_availability", facts["centos8-clean"],
                        with_target("opencloudos-8", Snapshot(rows, snapshot.repos, "", "test")))
    assert subjects(found, "packages.unavailable_in_target") == ("sudo",)


def test_availability_without_target_metadata_is_skipped(facts):
    for check in ("packages.target_availability", "packages.downgrades", "packages.multilib"):
        result = run_check(CHECKS[check], facts["centos8-traits"], load_manifest("opencloudos-8"))
        assert result.status == "skipped" and "--target-repo" in result.reason, check


# -- downgrades ---------------------------------------------------------------------------------

def test_newer_than_target(facts, oc8):
    status, found = run("packages.downgrades", facts["centos8-traits"], oc8)
    assert subjects(found, "packages.newer_than_target") == ("tzdata",)
    assert run("packages.downgrades", facts["centos8-clean"], oc8) == ("passed", {})


@pytest.mark.parametrize("target_evr,newer", [
    ((0, "2021e", "1.oc8"), True),        # the test repo's: 2022a > 2021e
    ((0, "2022a", "1.el8"), False),       # equal
    ((0, "2022a", "1.el8_5.1"), False),   # 1.el8 < 1.el8_5.1 (more segments wins)
    ((1, "2020a", "1.oc8"), False),       # epoch beats version
    ((0, "2022a", "1.el8~rc1"), True),    # ~ sorts before everything: 1.el8 > 1.el8~rc1
    ((0, "2022a", "1.el8^1"), False),     # ^ sorts after the base: 1.el8 < 1.el8^1
    ((0, "2022a", "1.oc8"), False),       # "oc" > "el"
])
def test_downgrade_uses_rpm_ordering(facts, snapshot, target_evr, newer):
    rows = tuple(p for p in snapshot.packages if p.name != "tzdata")
    rows += (TargetPackage("tzdata", *target_evr, "noarch", ("tzdata",), (), 0),)
    manifest = with_target("opencloudos-8", Snapshot(rows, snapshot.repos, "", "test"))
    status, found = run("packages.downgrades", facts["centos8-traits"], manifest)
    assert ("packages.newer_than_target" in found) is newer


def test_downgrades_do_not_apply_across_majors(facts, oc8):
    result = run_check(CHECKS["packages.downgrades"], facts["centos7-minimal"], oc8)
    assert result.status == "not_applicable"
    unknown = with_release(facts["centos8-traits"], None, {})
    assert run_check(CHECKS["packages.downgrades"], unknown, oc8).status == "skipped"


# -- provenance and signatures ---------------------------------------------------------------------

def test_third_party_and_unknown_distribution_key(hosts, facts):
    manifest = load_manifest("opencloudos-8")
    status, found = run("packages.provenance", facts["centos8-traits"], manifest)
    from hosts.centos8_traits import TRAITS
    assert subjects(found, "packages.third_party") == TRAITS["packages.third_party"]
    # the test hosts' "CentOS" packages are signed with a generated key: reported as such
    assert subjects(found, "packages.unknown_distribution_key") == (hosts["centos8-traits"].keys["centos8"],)
    status, clean = run("packages.provenance", facts["centos8-clean"], manifest)
    assert set(clean) == {"packages.unknown_distribution_key"}
    assert subjects(found, "packages.unknown_distribution_key") == subjects(clean, "packages.unknown_distribution_key")


def test_centos_signing_keys_are_distribution(hosts, facts):
    test_key = hosts["centos8-clean"].keys["centos8"]
    real = replace_packages(facts["centos8-clean"], lambda p: dataclasses.replace(
        p, sigkey_id="05b555b38483c65d") if p.sigkey_id == test_key else p)
    assert run("packages.provenance", real, load_manifest("opencloudos-8")) == ("passed", {})
    # vendor CentOS but unsigned: not "another key" (packages.signatures reports it)
    unsigned = replace_packages(real, lambda p: dataclasses.replace(p, sigkey_id=None) if p.name == "sudo" else p)
    assert run("packages.provenance", unsigned, load_manifest("opencloudos-8")) == ("passed", {})


def test_unsigned(facts):
    manifest = load_manifest("opencloudos-8")
    assert subjects(run("packages.signatures", facts["centos8-traits"], manifest)[1],
                    "packages.unsigned") == ("acme-backup-agent",)
    assert subjects(run("packages.signatures", facts["centos8-k8s"], manifest)[1],
                    "packages.unsigned") == ("acme-agent",)
    assert run("packages.signatures", facts["centos8-clean"], manifest) == ("passed", {})


# -- origins -------------------------------------------------------------------------------------

def test_package_from_a_removed_repo(facts):
    manifest = load_manifest("opencloudos-8")
    status, found = run("packages.origins", facts["centos8-traits"], manifest)
    assert subjects(found, "packages.from_unconfigured_repo") == ("nginx",)
    assert run("packages.origins", facts["centos8-clean"], manifest) == ("passed", {})


def test_origins_special_ids_case_and_unknowns(facts):
    manifest = load_manifest("opencloudos-8")
    traits = facts["centos8-traits"]
    renamed = dict(traits.pkgmgr.origins)
    for nevra, repo in list(renamed.items()):
        if repo == "nginx-stable":
            renamed[nevra] = "@System"
        elif repo == "docker-ce-stable":
            renamed[nevra] = "Docker-CE-Stable"        # ids compared case-insensitively
        elif repo == "epel":
            renamed[nevra] = "koji-override-0"
    changed = dataclasses.replace(traits, pkgmgr=dataclasses.replace(traits.pkgmgr, origins=renamed))
    assert run("packages.origins", changed, manifest) == ("passed", {})
    # a CentOS package from a repo that is gone is not reported: the swap replaces it anyway
    centos = {n: ("CentOS-AppStream-old" if r == "baseos" else r) for n, r in traits.pkgmgr.origins.items()}
    changed = dataclasses.replace(traits, pkgmgr=dataclasses.replace(traits.pkgmgr, origins=centos))
    assert subjects(run("packages.origins", changed, manifest)[1], "packages.from_unconfigured_repo") == ("nginx",)
    # no history at all: does not apply; a failed probe: unknown, skipped
    assert run_check(CHECKS["packages.origins"], facts["centos8-k8s"], manifest).status == "not_applicable"
    for probe in ("pkgmgr.origins", "repos"):
        broken = dataclasses.replace(traits, probes=dict(traits.probes, **{probe: Probe("error", "unreadable")}))
        assert run_check(CHECKS["packages.origins"], broken, manifest).status == "skipped", probe


# -- multilib -----------------------------------------------------------------------------------

def test_multilib_unavailable(facts, oc8, snapshot):
    status, found = run("packages.multilib", facts["centos8-traits"], oc8)
    assert subjects(found, "packages.multilib_unavailable") == ("glibc.i686",)
    assert run("packages.multilib", facts["centos8-clean"], oc8) == ("passed", {})
    # an i686 build in the target clears it
    i686 = TargetPackage("glibc", 0, "2.28", "164.oc8", "i686", ("glibc", "libc.so.6"), (), 0)
    manifest = with_target("opencloudos-8", Snapshot(snapshot.packages + (i686,), snapshot.repos, "", "test"))
    assert run("packages.multilib", facts["centos8-traits"], manifest) == ("passed", {})


# -- kernel-devel / kernel-headers --------------------------------------------------------------------

def test_kernel_devel_of_another_kernel(facts):
    manifest = load_manifest("opencloudos-8")
    status, found = run("packages.kernel_devel", facts["centos8-traits"], manifest)
    assert found == {"packages.kernel_devel_mismatch": ("warning", True, ("kernel-devel-4.18.0-348.el8.x86_64",))}
    assert run("packages.kernel_devel", facts["centos8-clean"], manifest) == ("passed", {})
    # a newer kernel than both: kernel-devel and kernel-headers mismatch
    newer = dataclasses.replace(facts["centos8-clean"], kernel=dataclasses.replace(
        facts["centos8-clean"].kernel, release="4.18.0-372.9.1.el8.x86_64"))
    status, found = run("packages.kernel_devel", newer, manifest)
    assert subjects(found, "packages.kernel_devel_mismatch") == ("kernel-devel-4.18.0-348.7.1.el8_5.x86_64",)
    assert subjects(found, "packages.kernel_headers_mismatch") == ("kernel-headers-4.18.0-348.7.1.el8_5.x86_64",)
    # no kernel-devel installed: nothing to match
    assert run("packages.kernel_devel", facts["centos8-k8s"], manifest) == ("passed", {})


# -- renamed / replaced / removed -----------------------------------------------------------------

def test_target_swaps_on_a_same_major_host(facts):
    status, found = run("packages.target_changes", facts["centos8-clean"], load_manifest("opencloudos-8"))
    assert found == {"packages.replaced_in_target": (
        "info", False, ("centos-gpg-keys", "centos-linux-release", "centos-linux-repos"))}
    # anolis-8 maps the repos and keys packages to its own: still replaced; no PES (8 -> 8)
    status, found = run("packages.target_changes", facts["centos8-clean"], load_manifest("anolis-8"))
    assert set(found) == {"packages.replaced_in_target"}


def test_pes_events_apply_from_7_to_8_only(facts):
    c7 = facts["centos7-minimal"]
    status, found = run("packages.target_changes", c7, load_manifest("opencloudos-8"))
    removed = subjects(found, "packages.removed_in_target")
    replaced = subjects(found, "packages.replaced_in_target")
    # real CentOS 7 -> 8 PES events (leapp data): yum plugins and python2 libraries are gone
    assert {"yum-plugin-ovl", "python-urlgrabber", "pygpgme"} <= set(removed)
    assert "centos-release" in replaced and not set(removed) & set(replaced)
    # same major (anolis-7 has no PES data): only the target's own mapping
    status, found = run("packages.target_changes", c7, load_manifest("anolis-7"))
    assert found == {"packages.replaced_in_target": ("info", False, ("centos-release",))}
    # an unknown source release cannot decide whether PES applies
    unknown = with_release(c7, None, {})
    assert run_check(CHECKS["packages.target_changes"], unknown, load_manifest("opencloudos-8")).status == "skipped"


# -- end to end ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reports(hosts, oc8_repo):
    from conftest import run_cli
    out = {}
    for name in ("centos8-traits", "centos8-clean"):
        result = run_cli("assess", "--root", str(hosts[name].root), "--target", "opencloudos-8",
                         "--target-repo", str(oc8_repo), "--json", "--allow-incomplete")
        assert result.code in (exitcodes.OK, exitcodes.BLOCKERS), result
        out[name] = result.json()
    return out


def test_cli_reports_each_package_trait_and_none_on_the_clean_host(reports):
    from hosts.centos8_traits import TRAITS
    wanted = {fid: subj for fid, subj in TRAITS.items() if fid.startswith("packages.")}
    traits = {f["id"]: f for f in reports["centos8-traits"]["findings"]}
    for fid, subj in wanted.items():
        assert fid in traits, fid
        assert (traits[fid]["severity"], traits[fid]["overridable"]) == EXPECTED[fid], fid
        assert tuple(traits[fid]["subjects"]) == subj, fid
    clean = {f["id"] for f in reports["centos8-clean"]["findings"]}
    assert not clean & set(wanted)
    for report in reports.values():
        statuses = {c["id"]: c["status"] for c in report["checks"]}
        assert all(statuses[c] in ("passed", "findings") for c in CHECKS if c.startswith("packages.")), statuses
