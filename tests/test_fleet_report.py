"""The fleet dashboard over a directory of real per-host reports (written by `migrate assess
-o`), broken files among them, hostile host names, and the page in headless Chromium."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Dict

import pytest

from browser import Browser, available, browser  # noqa: F401 (fixture)
from conftest import run_cli
from migrate import exitcodes
from migrate.reports.fleet import fleet_model, parse_report_bytes, render_fleet
from test_reports_html import ARTIFACTS, PAYLOAD
from test_reports_json import EXAMPLE, example_envelope


def write_report(directory: Path, name: str, report: Dict[str, Any]) -> Path:
    """As `migrate assess -o` writes it."""
    path = directory / name
    path.write_text(json.dumps(report, sort_keys=True) + "\n", encoding="utf-8")
    return path


def variant(report: Dict[str, Any], hostname: str, blockers: int = 0, warnings: int = 0,
            complete: bool = True) -> Dict[str, Any]:
    report = copy.deepcopy(report)
    report["host"]["hostname"] = hostname
    base = {"summary": "s", "subjects": [], "overridable": False, "links": [], "check_id": "x.y",
            "remediation": {"hint": "", "commands": [], "playbook_task": None},
            "waived": False, "waiver_reasons": [], "waived_subjects": []}
    report["findings"] = [f for f in report["findings"] if f["severity"] == "info"]
    report["findings"] += [dict(base, id="fleet.blocker_%d" % i, severity="blocker",
                                title="Blocker number %d" % i) for i in range(blockers)]
    report["findings"] += [dict(base, id="fleet.warning_%d" % i, severity="warning",
                                title="Warning %d" % i) for i in range(warnings)]
    report["summary"].update(blockers=blockers, warnings=warnings, complete=complete,
                             verdict="blocked" if blockers else
                             "ready_with_warnings" if warnings else "ready")
    return report


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fleet")
    # Two real reports written by the CLI itself.
    for name, target in (("cli-oc8", "opencloudos-8"), ("cli-an7", "anolis-7")):
        result = run_cli("assess", "--facts", str(EXAMPLE), "--target", target,
                         "--allow-incomplete", "-o", str(directory / (name + ".json")))
        assert result.code in (exitcodes.OK, exitcodes.BLOCKERS), result
    (directory / "cli-an7.html").write_text("<!DOCTYPE html><title>host report</title>")
    base = example_envelope()
    for i in range(6):
        write_report(directory, "b%d.json" % i, variant(base, "blocked-%d" % i, blockers=1 + i % 3,
                                                           complete=i % 2 == 0))
    for i in range(3):
        write_report(directory, "w%d.json" % i, variant(base, "warn-%d" % i, warnings=2))
    write_report(directory, "ok.json", variant(base, "fine-host"))
    (directory / "ok.html").write_text("<!DOCTYPE html><title>ok</title>")
    # Everything that is not a usable report:
    (directory / "truncated.json").write_text('{"schema_version": 1, "summary": {"verd')
    (directory / "empty.json").write_text("")
    (directory / "list.json").write_text("[1, 2]")
    (directory / "future.json").write_text('{"schema_version": 7, "summary": {}}')
    (directory / "ssh-failed.json").write_text('{"host": "db-9", "error": "ssh: connection refused"}')
    (directory / "latin1.json").write_bytes(b'{"host": "caf\xe9"}')
    (directory / "nested.json").mkdir()
    (directory / "host1.facts.json").write_text("{}")  # facts, not a report: left out
    (directory / "notes.txt").write_text("not json")
    return directory


def test_fleet_model_counts_verdicts_and_groups_blockers(fleet_dir):
    model = fleet_model(str(fleet_dir))
    cli_an7 = json.loads((fleet_dir / "cli-an7.json").read_text())
    cli_oc8 = json.loads((fleet_dir / "cli-oc8.json").read_text())
    verdicts = [r["summary"]["verdict"] for r in (cli_an7, cli_oc8)]
    assert model["assessed"] == 12
    assert model["by_verdict"]["blocked"] == 6 + verdicts.count("blocked")
    assert model["by_verdict"]["ready_with_warnings"] == 3 + verdicts.count("ready_with_warnings")
    assert model["by_verdict"]["ready"] == 1 + verdicts.count("ready")
    assert model["ignored_facts_files"] == 1
    top = {b["id"]: b["hosts"] for b in model["top_blockers"]}
    assert top["fleet.blocker_0"] == 6 and top["fleet.blocker_1"] == 4 and top["fleet.blocker_2"] == 2
    assert top["system.migration_downgrade"] == 1
    assert model["top_blockers"][0]["id"] == "fleet.blocker_0"
    assert {w["id"]: w["hosts"] for w in model["top_warnings"]}["fleet.warning_1"] == 3
    assert model["total"] == model["assessed"] + len(model["unassessed"])


def test_unusable_files_are_listed_with_the_reason(fleet_dir):
    reasons = {p["file"]: p["reason"] for p in fleet_model(str(fleet_dir))["unassessed"]}
    assert set(reasons) == {"truncated.json", "empty.json", "list.json", "future.json",
                            "ssh-failed.json", "latin1.json", "nested.json"}
    assert reasons["truncated.json"].startswith("malformed JSON at line 1 column")
    assert reasons["empty.json"] == "empty file"
    assert "not an object" in reasons["list.json"]
    assert "schema_version 7 is not supported" in reasons["future.json"]
    assert reasons["ssh-failed.json"] == "not assessed: ssh: connection refused"
    assert "UTF-8" in reasons["latin1.json"]
    assert reasons["nested.json"].startswith("cannot read")
    for reason in reasons.values():
        assert "Traceback" not in reason


def test_links_to_per_host_reports_only_when_they_exist(fleet_dir):
    model = fleet_model(str(fleet_dir))
    links = {h["file"]: h["html"] for h in model["hosts"]}
    assert links["cli-an7.json"] == "cli-an7.html" and links["ok.json"] == "ok.html"
    assert links["b0.json"] is None
    html = render_fleet(str(fleet_dir))
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert sorted(h for h in hrefs if not h.startswith("#")) == ["cli-an7.html", "ok.html"]
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?|ftp|file|javascript):""", html)


def test_incomplete_hosts_say_what_was_not_assessed(fleet_dir):
    model = fleet_model(str(fleet_dir))
    assert model["incomplete"] == sum(1 for h in model["hosts"] if not h["complete"]) > 0
    reasons = {r["id"] for r in model["incomplete_reasons"]}
    assert any(r.startswith("check packages.target_availability skipped") for r in reasons)


def test_fast_parse_skips_facts_and_agrees_with_a_full_parse(fleet_dir):
    data = (fleet_dir / "cli-oc8.json").read_bytes()
    full = json.loads(data)
    assert "facts" in full
    fast = parse_report_bytes(data)
    facts = full.pop("facts")
    assert fast == full and facts
    # Other layouts (indented, unsorted, facts last, a nested "findings") parse fully.
    full["facts"] = facts
    for text in (json.dumps(full, indent=2), json.dumps(dict(reversed(list(full.items())))),
                 json.dumps(dict(full, sm_matrix={"findings": [1], "facts": {"x": 1}}), sort_keys=True)):
        parsed = parse_report_bytes(text.encode())
        expected = json.loads(text)
        expected.pop("facts")
        parsed.pop("facts", None)
        assert parsed == expected


def test_hostile_host_names_are_escaped(tmp_path):
    base = example_envelope()
    write_report(tmp_path, "evil.json", variant(base, PAYLOAD, blockers=1))
    bad = variant(base, "x", blockers=1)
    bad["findings"][-1]["id"] = "evil.blocker"
    bad["findings"][-1]["title"] = PAYLOAD
    write_report(tmp_path, "evil2.json", bad)
    (tmp_path / "ssh.json").write_text(json.dumps({"host": PAYLOAD, "error": PAYLOAD}))
    html = render_fleet(str(tmp_path))
    assert PAYLOAD not in html and "<script>document" not in html and "<img" not in html
    assert html.count("<script") == 2


def test_dashboard_in_the_browser(browser, fleet_dir, tmp_path):
    path = tmp_path / "fleet.html"
    path.write_text(render_fleet(str(fleet_dir)), encoding="utf-8")
    page = browser.load(path)
    assert page.errors() == [] and page.requests == []
    model = fleet_model(str(fleet_dir))
    state = page.evaluate("""(() => {
        const rows = () => Array.from(document.querySelectorAll('#host-table tbody tr'))
                                 .filter(r => !r.hidden);
        const select = document.querySelector('select[data-filter-attr]');
        const all = rows().length;
        select.value = 'blocked'; select.dispatchEvent(new Event('change'));
        const blocked = rows().length;
        select.value = 'incomplete'; select.dispatchEvent(new Event('change'));
        const incomplete = rows().length;
        select.value = ''; select.dispatchEvent(new Event('change'));
        const input = document.querySelector('[data-filter-for=host-table] input');
        input.value = 'warn-'; input.dispatchEvent(new Event('input'));
        const warn = rows().length;
        input.value = ''; input.dispatchEvent(new Event('input'));
        document.querySelectorAll('#host-table thead th button')[2].click();
        const sorted = rows().map(r => Number(r.cells[2].textContent));
        return {all, blocked, incomplete, warn, sorted,
                verdict: !!document.getElementById('verdict'),
                bars: document.querySelectorAll('#verdict svg rect').length,
                unassessed: document.querySelectorAll('#unassessed-table tbody tr').length}; })()""")
    assert state["all"] == model["assessed"]
    assert state["blocked"] == model["by_verdict"]["blocked"]
    assert state["incomplete"] == model["incomplete"]
    assert state["warn"] == 3 and state["sorted"] == sorted(state["sorted"])
    assert state["verdict"] and state["bars"] == 4 and state["unassessed"] == len(model["unassessed"])
    page.screenshot(ARTIFACTS / "fleet.png")
    page.close()


def test_large_fleet_stays_lean(tmp_path, browser, monkeypatch):
    """1,000 hosts (read by a process pool): the same model as read in-process, small
    rows, no per-row script, and the page stays responsive."""
    base = example_envelope()
    base.pop("facts")
    for i in range(1000):
        write_report(tmp_path, "h%04d.json" % i, variant(base, "host-%04d.dc.example" % i,
                                                          blockers=i % 4, warnings=i % 3))
    (tmp_path / "broken.json").write_text("{")
    model = fleet_model(str(tmp_path))
    assert model["assessed"] == 1000 and len(model["unassessed"]) == 1
    import migrate.reports.fleet as fleet
    monkeypatch.setattr(fleet, "PARALLEL_FROM", 10 ** 9)
    serial = fleet_model(str(tmp_path))
    assert serial["hosts"] == model["hosts"] and serial["unassessed"] == model["unassessed"]
    html = render_fleet(str(tmp_path), model)
    body = html.split('<table id="host-table"', 1)[1].split("</table>", 1)[0]
    assert len(body) / 1000 < 600
    assert not re.search(r"<tr[^>]*\son\w+=", body)
    out = tmp_path / "fleet.html"
    out.write_text(html)
    page = browser.load(out)
    assert page.errors() == []
    elapsed = page.evaluate("""(() => { const t = performance.now();
        document.querySelectorAll('#host-table thead th button')[0].click();
        const input = document.querySelector('[data-filter-for=host-table] input');
        input.value = 'host-09'; input.dispatchEvent(new Event('input'));
        return performance.now() - t; })()""")
    assert elapsed < 2000
    page.close()
