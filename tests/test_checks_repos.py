"""The repos.* checks on real test hosts and on roots made of real .repo files (tests/data/repos).

Facts always come from the real collector; assertions are on finding ids, severities,
overridable and subjects, never on wording.
"""
from pathlib import Path

import pytest

from conftest import sample
from factsutil import facts_for_root
from migrate import exitcodes
from migrate.engine import discover_checks, run_check
from migrate.manifests import load_manifest

CHECKS = {c.id: c for c in discover_checks().checks}
EXPECTED = {   # finding id -> (severity, overridable)
    "repos.distribution_replaced": ("info", False),
    "repos.distribution_no_counterpart": ("warning", True),
    "repos.pinned_to_other_major": ("warning", True),
    "repos.epel": ("info", False),
    "repos.third_party": ("info", False),
    "repos.custom": ("info", False),
    "repos.gpgcheck_disabled": ("warning", True),
    "repos.centos_eol_mirror": ("warning", True),
    "repos.retired_vendor_repo": ("warning", True),
}
DATA_REPOS = Path(__file__).resolve().parent / "data" / "repos"


def repo_text(name):
    return (DATA_REPOS / name).read_text()


def run(check_id, facts, target):
    result = run_check(CHECKS[check_id], facts, load_manifest(target))
    assert result.status != "error", result.reason
    found = {}
    for f in result.findings:
        assert f.id not in found
        assert (f.severity, f.overridable) == EXPECTED[f.id], f.id
        assert f.severity != "warning" or f.remediation.commands, f.id
        found[f.id] = f
    return result.status, found


def ids(found):
    return {fid: f.subjects for fid, f in found.items()}


def centos_root(make_root, major, repos, extra=None, name="root"):
    """A plain-file CentOS root: real release files plus the given /etc/yum.repos.d files."""
    files = {"etc/os-release": sample("centos7.os-release" if major == 7 else "centos8.1.os-release"),
             "etc/centos-release": "CentOS Linux release %s\n" % ("7.9.2009 (Core)" if major == 7 else "8.5.2111")}
    files.update({"etc/yum.repos.d/" + fname: text for fname, text in repos.items()})
    files.update(extra or {})
    return facts_for_root(make_root(files, name=name))


# -- the test hosts --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def host_facts(built_hosts):
    return {name: facts_for_root(built_hosts(name).root)
            for name in ("centos8-traits", "centos8-clean", "centos8-k8s", "centos7-minimal")}


@pytest.mark.integration
def test_traits_host_classification(host_facts):
    status, found = run("repos.classification", host_facts["centos8-traits"], "opencloudos-8")
    assert ids(found) == {"repos.distribution_replaced": ("appstream", "baseos", "extras"),
                          "repos.epel": ("epel",), "repos.third_party": ("docker-ce-stable",),
                          "repos.custom": ("acme-internal",)}
    status, found = run("repos.classification", host_facts["centos8-clean"], "opencloudos-8")
    assert ids(found) == {"repos.distribution_replaced": ("appstream", "baseos", "extras")}


@pytest.mark.integration
def test_k8s_host_repos_pinned_to_el7_and_to_el8(host_facts):
    k8s = host_facts["centos8-k8s"]
    # the legacy Kubernetes repo is kubernetes-el7-$basearch: EL7 builds on an EL8 target
    status, found = run("repos.classification", k8s, "opencloudos-8")
    assert ids(found)["repos.pinned_to_other_major"] == ("kubernetes",)
    assert ids(found)["repos.third_party"] == ("docker-ce-stable", "elrepo")
    # against an EL7 target the el8 / centos/8 repos are the pinned ones
    status, found = run("repos.classification", k8s, "anolis-7")
    assert ids(found)["repos.pinned_to_other_major"] == ("docker-ce-stable", "elrepo")
    assert ids(found)["repos.third_party"] == ("kubernetes",)
    # and that legacy Kubernetes repository was taken down in 2024
    status, found = run("repos.eol_mirrors", k8s, "opencloudos-8")
    assert ids(found) == {"repos.retired_vendor_repo": ("kubernetes",),
                          "repos.centos_eol_mirror": ("appstream", "baseos", "extras")}


@pytest.mark.integration
def test_gpgcheck_and_eol_mirrors_on_the_hosts(host_facts):
    assert ids(run("repos.gpgcheck", host_facts["centos8-traits"], "opencloudos-8")[1]) == {
        "repos.gpgcheck_disabled": ("acme-internal",)}
    assert run("repos.gpgcheck", host_facts["centos8-clean"], "opencloudos-8") == ("passed", {})
    status, found = run("repos.eol_mirrors", host_facts["centos8-traits"], "opencloudos-8")
    assert ids(found) == {"repos.centos_eol_mirror": ("appstream", "baseos", "extras")}
    assert found["repos.centos_eol_mirror"].remediation.commands == (
        ("dnf", "config-manager", "--set-disabled", "appstream", "baseos", "extras"),)
    assert run("repos.eol_mirrors", host_facts["centos8-clean"], "opencloudos-8") == ("passed", {})
    # CentOS 7's stock CentOS-Base.repo: mirrorlist.centos.org, yum's own command
    status, found = run("repos.eol_mirrors", host_facts["centos7-minimal"], "anolis-7")
    assert found["repos.centos_eol_mirror"].subjects == ("base", "updates", "extras")
    assert found["repos.centos_eol_mirror"].remediation.commands[0][0] == "yum-config-manager"


@pytest.mark.integration
def test_clean_host_repo_files_have_no_retired_mirror(built_hosts):
    root = built_hosts("centos8-clean").root
    for path in sorted((root / "etc/yum.repos.d").glob("CentOS-*.repo")):
        active = [l for l in path.read_text().splitlines() if l.startswith(("mirrorlist=", "baseurl="))]
        assert active and all("vault.centos.org" in l for l in active), path


# -- roots made of real .repo files ---------------------------------------------------------------------

def test_centos7_base_repos_against_same_and_cross_major_targets(make_root):
    facts = centos_root(make_root, 7, {"CentOS-Base.repo": repo_text("centos7-CentOS-Base.repo")})
    status, found = run("repos.classification", facts, "anolis-7")
    assert ids(found) == {"repos.distribution_replaced": ("base", "updates", "extras")}
    # OpenCloudOS 8 has BaseOS and Extras, but no "updates"
    status, found = run("repos.classification", facts, "opencloudos-8")
    assert ids(found) == {"repos.distribution_replaced": ("base", "extras"),
                          "repos.distribution_no_counterpart": ("updates",)}
    assert found["repos.distribution_no_counterpart"].remediation.commands == (
        ("yum-config-manager", "--disable", "updates"),)
    # tencentos-3 defines no repositories: replaced, by repos not known; never "no counterpart"
    status, found = run("repos.classification", facts, "tencentos-3")
    assert ids(found) == {"repos.distribution_replaced": ("base", "updates", "extras")}


def test_enabled_centosplus_has_no_counterpart(make_root):
    # what `yum-config-manager --enable centosplus` leaves in the stock file
    stock = repo_text("centos7-CentOS-Base.repo")
    assert stock.count("enabled=0") == 1 and stock.index("[centosplus]") < stock.index("enabled=0")
    text = stock.replace("enabled=0", "enabled=1")
    facts = centos_root(make_root, 7, {"CentOS-Base.repo": text})
    status, found = run("repos.classification", facts, "anolis-7")
    assert ids(found)["repos.distribution_no_counterpart"] == ("centosplus",)


def test_epel7_is_pinned_and_epel8_stays(make_root):
    c7 = centos_root(make_root, 7, {"epel.repo": repo_text("epel7-epel.repo")}, name="c7")
    status, found = run("repos.classification", c7, "opencloudos-8")
    assert ids(found) == {"repos.pinned_to_other_major": ("epel",)}
    assert ("dnf", "install", "https://dl.fedoraproject.org/pub/epel/epel-release-latest-8.noarch.rpm") in \
        found["repos.pinned_to_other_major"].remediation.commands
    assert ids(run("repos.classification", c7, "anolis-7")[1]) == {"repos.epel": ("epel",)}
    c8 = centos_root(make_root, 8, {"epel.repo": repo_text("epel8-epel.repo")}, name="c8")
    assert ids(run("repos.classification", c8, "opencloudos-8")[1]) == {"repos.epel": ("epel",)}
    # EPEL 8's file follows $releasever: against an EL7 target it is not pinned to 8
    assert ids(run("repos.classification", c8, "anolis-7")[1]) == {"repos.epel": ("epel",)}


def test_third_party_mirrors_and_custom_repos(make_root):
    repos = {
        # a mirror's copy of Docker CE and Kubernetes (path decides), an internal CentOS mirror, an in-house repo
        "mirror.repo": "[docker-mirror]\nbaseurl=https://mirrors.example.cn/docker-ce/linux/centos/7/$basearch/stable\n"
                       "gpgcheck=1\n\n[k8s-mirror]\nbaseurl=https://mirrors.example.cn/kubernetes/yum/repos/"
                       "kubernetes-el7-$basearch\ngpgcheck=1\n\n[local-base]\n"
                       "baseurl=http://mirror.corp.example/centos/$releasever/os/$basearch/\ngpgcheck=1\n\n"
                       "[tools]\nbaseurl=http://repo.corp.example/tools/$basearch/\ngpgcheck=1\n\n"
                       "[old]\nbaseurl=http://repo.corp.example/el7/\ngpgcheck=1\nenabled=0\n",
    }
    facts = centos_root(make_root, 7, repos)
    status, found = run("repos.classification", facts, "anolis-7")
    assert ids(found) == {"repos.third_party": ("docker-mirror", "k8s-mirror"),
                          "repos.distribution_replaced": ("local-base",), "repos.custom": ("tools",)}
    status, found = run("repos.classification", facts, "opencloudos-8")
    assert ids(found)["repos.pinned_to_other_major"] == ("docker-mirror", "k8s-mirror")


@pytest.mark.parametrize("main,repo,flagged", [
    ("[main]\ngpgcheck=1\n", "", False),            # inherits [main]
    ("[main]\ngpgcheck=1\n", "gpgcheck=0\n", True),
    ("[main]\ngpgcheck=0\n", "", True),             # inherits gpgcheck=0
    ("[main]\ngpgcheck=0\n", "gpgcheck=1\n", False),
    (None, "", True),                               # set nowhere: dnf's default is off
])
def test_effective_gpgcheck(make_root, main, repo, flagged):
    extra = {"etc/dnf/dnf.conf": main} if main else {}
    repos = {"acme.repo": "[acme]\nbaseurl=http://repo.acme.example/el8/$basearch/\n" + repo +
                          "\n[acme-old]\nbaseurl=http://repo.acme.example/old/\ngpgcheck=0\nenabled=0\n"}
    facts = centos_root(make_root, 8, repos, extra)
    status, found = run("repos.gpgcheck", facts, "opencloudos-8")
    assert ids(found) == ({"repos.gpgcheck_disabled": ("acme",)} if flagged else {})
    if flagged:
        assert found["repos.gpgcheck_disabled"].remediation.commands == (
            ("dnf", "config-manager", "--save", "--setopt=acme.gpgcheck=1"),)


def test_disabled_and_vault_repos_are_not_retired_mirrors(make_root):
    vault = repo_text("centos8-CentOS-Linux-BaseOS.repo").replace("mirrorlist=", "#mirrorlist=").replace(
        "#baseurl=http://mirror.centos.org", "baseurl=http://vault.centos.org")
    disabled = repo_text("centos8-CentOS-Linux-AppStream.repo").replace("enabled=1", "enabled=0")
    facts = centos_root(make_root, 8, {"CentOS-Linux-BaseOS.repo": vault, "CentOS-Linux-AppStream.repo": disabled})
    assert run("repos.eol_mirrors", facts, "opencloudos-8") == ("passed", {})


def test_no_repositories_and_unreadable_repo_files(make_root):
    none = centos_root(make_root, 8, {}, name="none")
    broken = centos_root(make_root, 8, {"broken.repo": b"\xff\xfe garbage [[[\n",
                                        "epel.repo": repo_text("epel8-epel.repo")}, name="broken")
    for check in ("repos.classification", "repos.gpgcheck", "repos.eol_mirrors"):
        assert run_check(CHECKS[check], none, load_manifest("opencloudos-8")).status == "not_applicable"
        assert run_check(CHECKS[check], broken, load_manifest("opencloudos-8")).status == "skipped"


# -- end to end ----------------------------------------------------------------------------------

@pytest.mark.integration
def test_cli_reports_each_repo_trait_and_none_on_the_clean_host(built_hosts):
    from conftest import run_cli
    from hosts.centos8_traits import TRAITS
    from hosts.targets import opencloudos8_repo
    wanted = {fid: subj for fid, subj in TRAITS.items() if fid.startswith("repos.")}
    found = {}
    for name in ("centos8-traits", "centos8-clean"):
        result = run_cli("assess", "--root", str(built_hosts(name).root), "--target", "opencloudos-8",
                         "--target-repo", str(opencloudos8_repo()), "--json", "--allow-incomplete")
        assert result.code in (exitcodes.OK, exitcodes.BLOCKERS), result
        found[name] = {f["id"]: f for f in result.json()["findings"]}
    for fid, subj in wanted.items():
        f = found["centos8-traits"][fid]
        assert ((f["severity"], f["overridable"]), tuple(f["subjects"])) == (EXPECTED[fid], subj), fid
    assert not set(found["centos8-clean"]) & set(wanted)
