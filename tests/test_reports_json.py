"""The JSON envelope's schema (shipped with the package), golden reports of the test hosts,
and the JUnit XML rendering of real envelopes.

Golden files live in tests/data/golden/; after an intended change of checks or envelope,
regenerate them with ``MIGRATE_UPDATE_GOLDEN=1 scripts/test.sh tests/test_reports_json.py``
and review the diff.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any, Dict

import jsonschema
import pytest

from conftest import REPO, run_cli
from migrate import exitcodes
from migrate.reports.junit import render_junit
from migrate.reports.report_schema import load_schema, schema_path, validate_report

GOLDEN = REPO / "tests" / "data" / "golden"
EXAMPLE = REPO / "examples" / "centos8-k8s.facts.json"


@functools.lru_cache(maxsize=None)
def _example_text(target: str) -> str:
    result = run_cli("assess", "--facts", str(EXAMPLE), "--target", target, "--json",
                     "--allow-incomplete")
    assert result.code in (exitcodes.OK, exitcodes.BLOCKERS), result
    return result.stdout


def example_envelope(target: str = "opencloudos-8") -> Dict[str, Any]:
    """The envelope `migrate assess --json` prints for the bundled example host (a fresh copy)."""
    return json.loads(_example_text(target))


def host_envelope(built_hosts, name: str, target: str, *extra: str) -> Dict[str, Any]:
    host = built_hosts(name)
    result = run_cli("assess", "--root", str(host.root), "--target", target, "--json", *extra)
    assert result.code in (exitcodes.OK, exitcodes.BLOCKERS, exitcodes.WARNINGS,
                           exitcodes.INCOMPLETE), result
    return result.json()


# -- the schema -----------------------------------------------------------------------------

def test_schema_is_a_valid_draft_2020_12_schema():
    schema = load_schema(1)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": 1}


@pytest.mark.parametrize("target", ["opencloudos-8", "anolis-7", "anolis-8", "tencentos-3"])
def test_example_envelopes_validate(target):
    report = example_envelope(target)
    assert validate_report(report) == []


def test_blocked_envelope_validates_and_is_blocked():
    report = example_envelope("anolis-7")
    assert report["summary"]["verdict"] == "blocked"
    assert any(f["severity"] == "blocker" for f in report["findings"])
    assert validate_report(report) == []


@pytest.mark.parametrize("mutate, where", [
    (lambda r: r["summary"].update(verdict="maybe"), "summary.verdict"),
    (lambda r: r["checks"][0].update(status="ok"), "checks[0].status"),
    (lambda r: r.pop("findings"), "(top)"),
    (lambda r: r["findings"][0].update(severity="critical"), "findings[0].severity"),
    (lambda r: r["findings"][0]["remediation"].update(commands=["dnf remove x"]),
     "findings[0].remediation.commands[0]"),
    (lambda r: r.update(schema_version=2), "schema_version"),
    (lambda r: r.update(surprise=True), "(top)"),
    (lambda r: r["summary"].update(blockers=-1), "summary.blockers"),
])
def test_schema_rejects_broken_envelopes(mutate, where):
    report = example_envelope("anolis-7")
    if not report["findings"][0]["remediation"]["commands"]:
        report["findings"][0]["remediation"]["commands"] = [["true"]]
    mutate(report)
    problems = validate_report(report)
    assert problems and any(p.startswith(where) for p in problems), problems


def test_skipped_check_without_reason_is_invalid():
    report = example_envelope()
    skipped = [c for c in report["checks"] if c["status"] in ("skipped", "not_applicable")]
    assert skipped, "the example assessment has no skipped check (no --target-repo)"
    skipped[0]["reason"] = ""
    assert validate_report(report)


def test_schema_ships_in_the_wheel(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("migrate-*.whl"))).namelist()
    for expected in ("migrate/reports/schema/report-v1.schema.json",
                     "migrate/reports/templates/host.html.j2",
                     "migrate/reports/templates/fleet.html.j2",
                     "migrate/reports/templates/certificate.html.j2",
                     "migrate/reports/templates/report.css", "migrate/reports/templates/report.js",
                     "migrate/reports/html_report.py", "migrate/certify.py"):
        assert expected in names
    assert Path(schema_path(1)).is_file()


# -- golden envelopes of the test hosts -----------------------------------------------------

def normalise(report: Dict[str, Any], paths: Dict[str, str]) -> Dict[str, Any]:
    """Volatile parts out: times, durations, tool version, machine paths; facts summarised."""
    report = copy.deepcopy(report)
    report["generated_at"] = "<time>"
    report["tool"]["version"] = "<version>"
    report["host"]["collected_at"] = "<time>"
    for check in report["checks"]:
        check["duration_ms"] = 0
    facts = report.pop("facts", None)
    if facts is not None:
        report["facts"] = {"schema_version": facts["schema_version"],
                           "packages": None if facts["packages"] is None else len(facts["packages"]),
                           "probes": {k: v["status"] for k, v in sorted(facts["probes"].items())}}

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for real, token in paths.items():
                value = value.replace(real, token)
            return value
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value
    return scrub(report)


def check_golden(name: str, report: Dict[str, Any]) -> None:
    path = GOLDEN / ("%s.json" % name)
    text = json.dumps(report, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    if os.environ.get("MIGRATE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), "no golden file %s: run with MIGRATE_UPDATE_GOLDEN=1" % path
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert report == expected, ("%s differs from the golden file; if the change is intended, "
                                "rerun with MIGRATE_UPDATE_GOLDEN=1 and review the diff" % name)


@pytest.mark.parametrize("target", ["opencloudos-8", "anolis-7"])
def test_golden_example_envelopes(target):
    report = example_envelope(target)
    assert validate_report(report) == []
    root = report["host"]["root"] or ""
    check_golden("example-%s" % target, normalise(report, {root: "<root>", str(REPO): "<repo>"}))


HOST_CASES = [
    ("centos7-minimal", "anolis-7", ()),
    ("centos7-minimal", "opencloudos-8", ()),
    ("centos8-bdb", "anolis-8", ()),
    ("centos8-k8s", "opencloudos-8", ("oc8-repo",)),
]


@pytest.mark.integration
@pytest.mark.parametrize("name, target, options", HOST_CASES)
def test_test_host_envelopes_validate_and_match_golden(built_hosts, name, target, options):
    extra = []
    paths = {}
    if "oc8-repo" in options:
        from hosts.targets import opencloudos8_repo
        repo = str(opencloudos8_repo())
        extra = ["--target-repo", repo]
        paths[repo] = "<target-repo>"
    report = host_envelope(built_hosts, name, target, *extra)
    assert validate_report(report) == []
    host = built_hosts(name)
    paths.update({str(host.root): "<root>", str(REPO): "<repo>"})
    # The test signing keys are generated per cache: their ids are not golden.
    for label, key_id in host.keys.items():
        paths[key_id] = "<key:%s>" % label
        paths[key_id[-8:]] = "<shortkey:%s>" % label
    check_golden("%s-%s" % (name, target), normalise(report, paths))


# -- JUnit ------------------------------------------------------------------------------

def junit_counts(xml: str) -> Dict[str, Any]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    return {"root": root, "suite": suite, "cases": {c.get("name"): c for c in cases},
            "attrs": {k: int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")}}


def expected_counts(report: Dict[str, Any], fail_on: str = "blocker") -> Dict[str, int]:
    failing = {"blocker"} | ({"warning"} if fail_on == "warning" else set())
    failed = {f["check_id"] for f in report["findings"] if f["severity"] in failing and not f["waived"]}
    return {"tests": len(report["checks"]),
            "failures": sum(1 for c in report["checks"]
                            if c["status"] == "findings" and c["id"] in failed),
            "errors": sum(1 for c in report["checks"] if c["status"] == "error"),
            "skipped": sum(1 for c in report["checks"] if c["status"] in ("skipped", "not_applicable"))}


@pytest.mark.parametrize("target", ["opencloudos-8", "anolis-7"])
def test_junit_has_one_testcase_per_check_and_the_right_counts(target):
    report = example_envelope(target)
    parsed = junit_counts(render_junit(report))
    assert parsed["attrs"] == expected_counts(report)
    assert set(parsed["cases"]) == {c["id"] for c in report["checks"]}
    assert {k: int(parsed["root"].get(k)) for k in parsed["attrs"]} == parsed["attrs"]
    for check in report["checks"]:
        case = parsed["cases"][check["id"]]
        if check["status"] in ("skipped", "not_applicable"):
            assert check["reason"] in case.find("skipped").get("message")
    props = {p.get("name"): p.get("value") for p in parsed["suite"].iter("property")}
    assert props["verdict"] == report["summary"]["verdict"]
    assert props["complete"] == str(report["summary"]["complete"]).lower()


def test_junit_blocker_is_a_failure_with_its_remediation():
    report = example_envelope("anolis-7")
    parsed = junit_counts(render_junit(report))
    blocker = [f for f in report["findings"] if f["id"] == "system.migration_downgrade"][0]
    failure = parsed["cases"][blocker["check_id"]].find("failure")
    assert failure is not None and failure.get("type") == "blocker"
    assert "system.migration_downgrade" in failure.get("message")
    assert "$ migrate targets list" in failure.text


def test_junit_errors_skips_waivers_fail_on_warning_and_hostile_text():
    report = example_envelope()
    nasty = "bad \x00\x1b[31m <tag> & \"quote\" \ud7ff\U0001f600 ]]>"
    report["host"]["hostname"] = nasty
    report["checks"].append({"id": "plugin.broken", "title": nasty, "category": "plugin",
                             "status": "error", "reason": "RuntimeError: " + nasty, "origin": "x",
                             "duration_ms": 1.5, "finding_ids": []})
    report["checks"].append({"id": "plugin.warns", "title": "t", "category": "plugin",
                             "status": "findings", "reason": "", "origin": "x",
                             "duration_ms": 1.0, "finding_ids": ["plugin.warned", "plugin.waived"]})
    base = {"summary": "s", "subjects": [nasty], "overridable": True, "links": [],
            "remediation": {"hint": "", "commands": [["rm", "-f", "a b"]], "playbook_task": None},
            "check_id": "plugin.warns", "waiver_reasons": [], "waived_subjects": []}
    report["findings"] += [dict(base, id="plugin.warned", severity="warning", title="w", waived=False),
                           dict(base, id="plugin.waived", severity="blocker", title="b", waived=True)]
    for fail_on in ("blocker", "warning"):
        xml = render_junit(report, fail_on=fail_on)
        parsed = junit_counts(xml)  # parses despite NUL and ESC in host text
        assert parsed["attrs"] == expected_counts(report, fail_on)
        error = parsed["cases"]["plugin.broken"].find("error")
        assert error is not None and "\\x00" in error.get("message") and "<tag>" in error.get("message")
        warns = parsed["cases"]["plugin.warns"]
        if fail_on == "warning":
            assert warns.find("failure").get("type") == "warning"
            assert "$ rm -f 'a b'" in warns.find("failure").text
        else:
            assert warns.find("failure") is None
            assert "[waived blocker] plugin.waived" in warns.find("system-out").text
    assert "\U0001f600" in parsed["suite"].get("hostname")
    with pytest.raises(ValueError):
        render_junit(report, fail_on="info")
