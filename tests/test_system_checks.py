"""system.source_supported and system.migration_path on the real release files in ../shared."""
import pytest

from conftest import sample
from factsutil import facts_for_root, with_release
from migrate.engine import assess, discover_checks
from migrate.manifests import available_targets, load_manifest
from migrate.source import identify_source


@pytest.fixture(scope="module")
def base_facts(tmp_path_factory):
    return facts_for_root(tmp_path_factory.mktemp("empty"))


SOURCES = {
    # name: (os-release sample or None, {release file: sample or literal text})
    "centos7.1": ("centos7.os-release", {"/etc/centos-release": "centos7.centos-release"}),
    "centos7.9-no-os-release": (None, {"/etc/centos-release": "=CentOS Linux release 7.9.2009 (Core)"}),
    "centos8.1": ("centos8.1.os-release", {"/etc/centos-release": "centos8.1.centos-release"}),
    "centos8.5": ("centos8.1.os-release", {"/etc/centos-release": "=CentOS Linux release 8.5.2111"}),
    "stream8": ("centosstream8.os-release", {}),
    "tencentos3.1": ("tencentos3.1.os-release", {"/etc/redhat-release": "tencentos3.1.redhat-release"}),
    "anolis23": ("anolis23-loongarch64.os-release", {}),
    "ocs23": ("opencloudos-stream23-riscv64.os-release", {}),
    "nothing": (None, {}),
}


def facts_for(base_facts, name):
    osr, files = SOURCES[name]
    texts = {path: (value[1:] if value.startswith("=") else sample(value)) for path, value in files.items()}
    return with_release(base_facts, sample(osr) if osr else None, texts)


@pytest.mark.parametrize("name,label,supported", [
    ("centos7.1", "CentOS Linux 7.1", True),
    ("centos7.9-no-os-release", "CentOS Linux 7.9", True),
    ("centos8.1", "CentOS Linux 8.1", True),
    ("centos8.5", "CentOS Linux 8.5", True),
    ("stream8", "CentOS Stream 8", True),
    ("tencentos3.1", "TencentOS Server 3.1 (Final)", False),
    ("anolis23", "Anolis OS 23", False),
    ("ocs23", "OpenCloudOS Stream 23", False),
])
def test_source_identified_from_real_release_files(base_facts, name, label, supported):
    source = identify_source(facts_for(base_facts, name))
    assert (source.label, source.supported) == (label, supported)


def finding_ids(facts, target, check_id):
    result = [r for r in assess(facts, load_manifest(target)).results if r.check_id == check_id][0]
    return result.status, sorted(f.id for f in result.findings)


@pytest.mark.parametrize("name,expected", [
    ("centos7.1", ["system.source_not_final_minor"]),
    ("centos7.9-no-os-release", []),
    ("centos8.1", ["system.source_not_final_minor"]),
    ("centos8.5", []),
    ("stream8", []),
    ("tencentos3.1", ["system.source_unsupported"]),
    ("anolis23", ["system.source_unsupported"]),
    ("nothing", ["system.source_unrecognised"]),
])
def test_source_supported_findings(base_facts, name, expected):
    status, ids = finding_ids(facts_for(base_facts, name), "anolis-8", "system.source_supported")
    assert ids == expected
    assert status == ("findings" if expected else "passed")


# The migration-path matrix of ARCHITECTURE.md and the foundation issue.
MATRIX = {
    "centos8.5": {"opencloudos-8": "system.migration_repo_swap", "anolis-8": "system.migration_repo_swap",
                  "tencentos-3": "system.migration_repo_swap",
                  "opencloudos-9": "system.migration_independent_distribution",
                  "anolis-23": "system.migration_independent_distribution",
                  "anolis-7": "system.migration_downgrade"},
    "stream8": {"opencloudos-8": "system.migration_repo_swap", "anolis-8": "system.migration_repo_swap",
                "tencentos-3": "system.migration_repo_swap",
                "opencloudos-9": "system.migration_independent_distribution",
                "anolis-23": "system.migration_independent_distribution",
                "anolis-7": "system.migration_downgrade"},
    "centos7.9-no-os-release": {
        "anolis-7": "system.migration_repo_swap", "opencloudos-8": "system.migration_cross_major",
        "anolis-8": "system.migration_cross_major", "tencentos-3": "system.migration_cross_major",
        "opencloudos-9": "system.migration_independent_distribution",
        "anolis-23": "system.migration_independent_distribution"},
}


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_migration_path_matrix(base_facts, name):
    facts = facts_for(base_facts, name)
    assert set(MATRIX[name]) == set(available_targets())
    for target, expected in MATRIX[name].items():
        result = [r for r in assess(facts, load_manifest(target)).results
                  if r.check_id == "system.migration_path"][0]
        assert [f.id for f in result.findings] == [expected], target
        severity = result.findings[0].severity
        assert severity == ("info" if expected.endswith("repo_swap") else "blocker"), target


def test_blocked_path_explains_the_way_forward(base_facts):
    facts = facts_for(base_facts, "centos7.9-no-os-release")
    result = assess(facts, load_manifest("anolis-8"))
    blocker = [f for f in result.findings if f.id == "system.migration_cross_major"][0]
    assert "Anolis OS 7" in blocker.summary and blocker.overridable is False
    assert result.verdict == "blocked"


def test_migration_path_not_applicable_for_unsupported_source(base_facts):
    status, ids = finding_ids(facts_for(base_facts, "tencentos3.1"), "opencloudos-8", "system.migration_path")
    assert (status, ids) == ("not_applicable", [])
