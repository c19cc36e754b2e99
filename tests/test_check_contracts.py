"""Contract tests over every registered check, built-in and plugin."""
import itertools
import sys
import textwrap

import pytest

from checkcontract import (declaration_violations, finding_violations, module_source,
                           static_violations)
from factsutil import facts_for_root
from migrate.engine import Check, assess, discover_checks
from migrate.manifests import available_targets, load_manifest

DISCOVERY = discover_checks()
CHECKS = DISCOVERY.checks


@pytest.fixture(scope="module")
def probe_names(tmp_path_factory):
    """Every probe the collector records (it records all of them on every run)."""
    return set(facts_for_root(tmp_path_factory.mktemp("empty")).probes)


def test_discovery_found_checks_and_no_load_errors():
    assert len(CHECKS) >= 3 and DISCOVERY.errors == ()
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_declaration(check, probe_names):
    assert declaration_violations(check, probe_names) == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_module_touches_no_files_processes_or_network(check):
    assert static_violations(module_source(check)) == []


@pytest.fixture(scope="module")
def host_facts(built_hosts):
    return {name: facts_for_root(built_hosts(name).root)
            for name in ("centos7-minimal", "centos8-k8s", "centos8-bdb")}


def test_every_finding_on_the_test_hosts_keeps_the_contract(host_facts):
    """Blockers have remediation, ids are stable-shaped, argv lists are real lists."""
    seen = 0
    for (name, facts), target in itertools.product(host_facts.items(), available_targets()):
        for result in assess(facts, load_manifest(target), discovery=DISCOVERY).results:
            assert result.status != "error", (name, target, result.check_id, result.reason)
            for finding in result.findings:
                seen += 1
                assert finding_violations(finding) == [], (name, target)
    assert seen > 0


BAD_MODULE = textwrap.dedent('''
    """Detects nothing. Facts: packages. Manifest keys: none."""
    import subprocess
    from migrate.engine import Check
    from migrate.findings import Finding

    def run(facts, manifest):
        open("/etc/passwd").read()
        subprocess.run(["true"])
        return [Finding(id="bad.blocker", severity="blocker", title="t", summary="s")]

    CHECK = Check(id="Bad-Id", title="", category="x", run=run, requires=("no.such.probe",))
''')


def test_the_contract_catches_a_bad_plugin(tmp_path, probe_names):
    (tmp_path / "bad_plugin_check.py").write_text(BAD_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import bad_plugin_check
    finally:
        sys.path.remove(str(tmp_path))
    check = bad_plugin_check.CHECK
    declared = declaration_violations(check, probe_names)
    assert "id 'Bad-Id' does not match area.condition" in declared
    assert "empty title" in declared and "requires 'no.such.probe', which no probe records" in declared
    assert set(static_violations(module_source(check))) >= {"imports subprocess", "calls open()"}
    finding = check.run.__globals__["Finding"](id="bad.blocker", severity="blocker", title="t", summary="s")
    assert finding_violations(finding) == ["blocker bad.blocker has no remediation"]
