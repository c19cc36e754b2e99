"""The check engine: one status per check, errors contained, plugins, waivers, purity."""
import builtins
import socket
import subprocess
import sys
import textwrap

import pytest

from factsutil import facts_for_root
from migrate.engine import (Check, Discovery, MissingFacts, NotApplicable, assess,
                            discover_checks, run_check)
from migrate.findings import Finding, Remediation
from migrate.manifests import available_targets, load_manifest
from migrate.waivers import Waiver, parse_waivers
from migrate.errors import BadInput

CENTOS8 = {"etc/os-release": 'NAME="CentOS Linux"\nID="centos"\nVERSION_ID="8"\n',
           "etc/centos-release": "CentOS Linux release 8.5.2111\n"}


@pytest.fixture
def facts(make_root):
    return facts_for_root(make_root(CENTOS8))


@pytest.fixture
def manifest():
    return load_manifest("opencloudos-8")


def finding(fid="demo.thing", severity="warning", subjects=("a",)):
    return Finding(id=fid, severity=severity, title="t", summary="s", subjects=subjects)


def make_check(cid, run, requires=()):
    return Check(id=cid, title=cid, category="demo", run=run, requires=requires)


def test_a_check_that_raises_is_an_error_and_the_run_continues(facts, manifest):
    def boom(f, m):
        raise RuntimeError("kaboom")
    checks = (make_check("demo.boom", boom), make_check("demo.ok", lambda f, m: [finding()]))
    result = assess(facts, manifest, discovery=Discovery(checks))
    statuses = {r.check_id: (r.status, r.reason) for r in result.results}
    assert statuses["demo.boom"] == ("error", "RuntimeError: kaboom")
    assert statuses["demo.ok"][0] == "findings"
    assert result.complete is False


def test_requires_skips_with_the_probe_status(facts, manifest):
    check = make_check("demo.needs", lambda f, m: [], requires=("kmods.loaded",))
    result = run_check(check, facts, manifest)
    assert result.status == "skipped"
    assert result.reason.startswith("needs kmods.loaded, which is absent")


def test_not_applicable_and_missing_facts(facts, manifest):
    def na(f, m):
        raise NotApplicable("no eBPF workload")

    def missing(f, m):
        raise MissingFacts("need /proc/crypto")
    result = run_check(make_check("demo.na", na), facts, manifest)
    assert (result.status, result.reason) == ("not_applicable", "no eBPF workload")
    assert run_check(make_check("demo.mf", missing), facts, manifest).status == "skipped"


def test_a_check_returning_garbage_is_an_error(facts, manifest):
    result = run_check(make_check("demo.bad", lambda f, m: ["not a finding"]), facts, manifest)
    assert result.status == "error" and "instead of a Finding" in result.reason


def test_findings_get_the_check_id(facts, manifest):
    result = run_check(make_check("demo.ok", lambda f, m: [finding()]), facts, manifest)
    assert [f.check_id for f in result.findings] == ["demo.ok"]


def test_finding_ids_and_commands_are_validated():
    with pytest.raises(ValueError):
        Finding(id="NoDots", severity="info", title="t", summary="s")
    with pytest.raises(ValueError):
        Finding(id="a.b", severity="fatal", title="t", summary="s")
    with pytest.raises(ValueError):
        Finding(id="a.b", severity="info", title="t", summary="s",
                remediation=Remediation(commands=("rm -rf /",)))


def test_waivers_whole_and_by_subject(facts, manifest):
    checks = (make_check("demo.one", lambda f, m: [finding("demo.one", "blocker", ("x", "y"))]),
              make_check("demo.two", lambda f, m: [finding("demo.two", "blocker", ("p",))]))
    waivers = (Waiver("demo.one", "ok for x", "x"), Waiver("demo.two", "accepted"),
               Waiver("demo.gone", "stale"))
    result = assess(facts, manifest, waivers, discovery=Discovery(checks))
    by_id = {f.id: f for f in result.findings}
    assert by_id["demo.one"].waived is False and by_id["demo.one"].waived_subjects == ("x",)
    assert by_id["demo.two"].waived is True and by_id["demo.two"].waiver_reasons == ("accepted",)
    assert result.count("blocker") == 1 and result.verdict == "blocked"
    assert [w.id for w in result.unused_waivers] == ["demo.gone"]
    waivers2 = waivers + (Waiver("demo.one", "ok for y", "y"),)
    result2 = assess(facts, manifest, waivers2, discovery=Discovery(checks))
    assert result2.verdict == "ready"


@pytest.mark.parametrize("data,message", [
    ([{"id": "a.b"}], r"waivers\[0\]\.reason: required"),
    ([{"id": "a.b", "reason": "r", "extra": 1}], "unknown key extra"),
    ("text", "expected a list"),
])
def test_bad_waiver_files_say_where(data, message):
    with pytest.raises(BadInput, match=message):
        parse_waivers(data, "w.yaml")


def test_builtin_checks_are_discovered_with_unique_ids():
    discovery = discover_checks()
    ids = [c.id for c in discovery.checks]
    assert {"system.source_supported", "system.migration_path"} <= set(ids)
    assert len(ids) == len(set(ids)) and discovery.errors == ()


def test_every_builtin_check_module_documents_what_why_and_inputs():
    for check in discover_checks().checks:
        doc = check.description or ""
        assert "Facts:" in doc and "Manifest keys:" in doc, check.id
        assert len(doc.split("\n\n")[0]) > 20, check.id


def test_plugins_register_through_the_entry_point_group(tmp_path, facts, manifest):
    """A real distribution's entry point (dist-info on sys.path), loaded by importlib.metadata."""
    (tmp_path / "acme_checks.py").write_text(textwrap.dedent('''
        """Detects the ACME agent. Facts: packages. Manifest keys: none."""
        from migrate.engine import Check
        from migrate.findings import Finding
        def run(facts, manifest):
            return [Finding(id="acme.agent_present", severity="info", title="t", summary="s")]
        CHECK = Check(id="acme.agent", title="ACME agent", category="acme", run=run)
    '''))
    (tmp_path / "broken_checks.py").write_text("raise ImportError('missing dependency acme-sdk')\n")
    dist = tmp_path / "acme_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[migrate.checks]\nacme = acme_checks\nbroken = broken_checks:CHECK\n")
    sys.path.insert(0, str(tmp_path))
    try:
        discovery = discover_checks()
    finally:
        sys.path.remove(str(tmp_path))
    plugin = [c for c in discovery.checks if c.id == "acme.agent"]
    assert plugin and plugin[0].origin == "plugin acme_checks"
    errors = {e.check_id: e for e in discovery.errors}
    assert errors["broken"].status == "error" and "acme-sdk" in errors["broken"].reason
    result = assess(facts, manifest, discovery=discovery)
    assert {r.check_id: r.status for r in result.results}["broken"] == "error"


def test_checks_are_pure_no_files_processes_or_network(facts, monkeypatch):
    """Checks run with open/subprocess/socket disabled produce the same results."""
    baseline = {t: [(r.check_id, r.status, r.findings) for r in assess(facts, load_manifest(t)).results]
                for t in available_targets()}
    manifests = {t: load_manifest(t) for t in available_targets()}
    discovery = discover_checks()

    def forbidden(*a, **k):
        raise AssertionError("a check touched the outside world")
    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr(socket, "socket", forbidden)
    for target, manifest in manifests.items():
        results = assess(facts, manifest, discovery=discovery).results
        assert [(r.check_id, r.status, r.findings) for r in results] == baseline[target]
        assert all(r.status != "error" for r in results), target
