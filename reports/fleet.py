"""The fleet dashboard: one HTML page over a directory of per-host JSON reports.

``fleet_model(reports_dir)`` reads every ``*.json`` report in the directory (not
recursively; ``*.facts.json`` files are facts, not reports, and are left out) and
returns the data model: hosts by verdict, the most common blockers and warnings
across the fleet grouped by finding id with host counts, one row per host, and
the files that could not be used with the reason (unreadable, malformed JSON, not
a report, or a fleet runner's error record ``{"host": ..., "error": ...}``).
``render_fleet(reports_dir)`` renders it. Nothing is fatal: a bad file is a row
in "could not be assessed", never a traceback.

At fleet scale the reports' ``facts`` (hundreds of KB per host) dominate reading
time and the dashboard needs none of them: when the file has the layout
``json.dumps(sort_keys=True)`` writes, the facts object is cut out before parsing
(safe because the spliced text must still parse; otherwise the whole file is parsed).
"""
from __future__ import annotations

import json
import os
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from . import htmlkit
from .htmlkit import VERDICTS

SUPPORTED_SCHEMA_VERSIONS = (1,)
VERDICT_ORDER = ("blocked", "ready_with_warnings", "ready")
MAX_IDS_PER_ROW = 3
EXAMPLE_HOSTS = 3
PARALLEL_FROM = 200  # reports; below this a process pool costs more than it saves
MAX_WORKERS = 8


class NotAReport(ValueError):
    """A JSON file that is not a usable report; the message says why."""


def parse_report_bytes(data: bytes) -> Any:
    """Parse a report, skipping the ``facts`` object when the layout allows it.

    With sorted keys the top level reads ``"checks", "facts", "findings", ...``: the
    first ``"facts": {`` and the last ``"findings": [`` are then top-level keys and the
    text between them is exactly the facts member. Cutting anywhere else leaves
    unbalanced brackets, which the JSON parser rejects, and we parse everything.
    """
    start = data.find(b'"facts": {')
    end = data.rfind(b'"findings": [')
    if 0 < start < end:
        try:
            parsed = json.loads(data[:start] + data[end:])
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "summary" in parsed:
            return parsed
    return json.loads(data)


def _text(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _host_record(name: str, report: Any, html: Optional[str]) -> Dict[str, Any]:
    if not isinstance(report, dict):
        raise NotAReport("not a report: the JSON is %s, not an object" % type(report).__name__)
    if "summary" not in report and "error" in report:
        raise NotAReport("not assessed: %s" % _text(report.get("error")))
    version = report.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise NotAReport("report schema_version %r is not supported (this migrate reads %s)"
                         % (version, ", ".join(map(str, SUPPORTED_SCHEMA_VERSIONS))))
    summary = report.get("summary")
    if not isinstance(summary, dict) or summary.get("verdict") not in VERDICTS:
        raise NotAReport("not a migrate report: no valid summary.verdict")
    host = report.get("host") if isinstance(report.get("host"), dict) else {}
    target = report.get("target") if isinstance(report.get("target"), dict) else {}
    source = report.get("source") if isinstance(report.get("source"), dict) else {}
    findings = [f for f in report.get("findings") or () if isinstance(f, dict)]
    blockers = sorted({_text(f.get("id")) for f in findings
                       if f.get("severity") == "blocker" and not f.get("waived")})
    warnings = sorted({_text(f.get("id")) for f in findings
                       if f.get("severity") == "warning" and not f.get("waived")})
    partial = []
    if summary.get("complete") is False:
        for probe, detail in sorted((summary.get("failed_probes") or {}).items()):
            partial.append("probe %s %s" % (probe, _text((detail or {}).get("status"))))
        for check in report.get("checks") or ():
            if isinstance(check, dict) and check.get("status") in ("skipped", "error"):
                partial.append("check %s %s: %s" % (_text(check.get("id")), check["status"],
                                                    _text(check.get("reason"))))
    return {
        "file": name, "html": html,
        "hostname": _text(host.get("hostname") or host.get("root"), name),
        "verdict": summary["verdict"], "complete": summary.get("complete") is not False,
        "blockers": int(summary.get("blockers") or 0), "warnings": int(summary.get("warnings") or 0),
        "info": int(summary.get("info") or 0), "waived": int(summary.get("waived") or 0),
        "source": _text(source.get("label"), "unknown"),
        "target": _text(target.get("id"), "?"), "target_name": _text(target.get("name")),
        "generated_at": _text(report.get("generated_at")),
        "blocker_ids": blockers, "warning_ids": warnings, "partial": partial,
        "titles": {_text(f.get("id")): _text(f.get("title")) for f in findings},
    }


def _load(directory: str, name: str, names: set) -> Tuple[Optional[Dict[str, Any]],
                                                           Optional[Dict[str, str]]]:
    """One file: (host record, None) or (None, problem)."""
    path = os.path.join(directory, name)
    stem = name[:-5]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return None, {"file": name, "hostname": "", "reason": "cannot read: %s"
                      % (exc.strerror or exc)}
    if not data.strip():
        return None, {"file": name, "hostname": "", "reason": "empty file"}
    try:
        report = parse_report_bytes(data)
    except UnicodeDecodeError as exc:
        return None, {"file": name, "hostname": "", "reason": "not UTF-8 text (%s)" % exc.reason}
    except json.JSONDecodeError as exc:
        return None, {"file": name, "hostname": "", "reason": "malformed JSON at line %d "
                      "column %d: %s" % (exc.lineno, exc.colno, exc.msg)}
    except (ValueError, RecursionError) as exc:
        return None, {"file": name, "hostname": "", "reason": "malformed JSON: %s" % exc}
    html = stem + ".html" if stem + ".html" in names else None
    try:
        record = _host_record(name, report, html)
    except NotAReport as exc:
        host = report.get("host") if isinstance(report, dict) else None
        hostname = host.get("hostname") if isinstance(host, dict) else host
        return None, {"file": name, "hostname": _text(hostname) if isinstance(
            hostname, (str, int)) else "", "reason": str(exc)}
    except (TypeError, ValueError, AttributeError) as exc:
        return None, {"file": name, "hostname": "", "reason": "not a migrate report: %s: %s"
                      % (type(exc).__name__, exc)}
    if record["html"] is None and record["hostname"] + ".html" in names:
        record["html"] = record["hostname"] + ".html"
    return record, None


def _load_chunk(job: Tuple[str, List[str], set]) -> List[Tuple[Any, Any]]:
    directory, names, name_set = job
    return [_load(directory, name, name_set) for name in names]


def _load_all(directory: str, names: List[str], name_set: set) -> List[Tuple[Any, Any]]:
    """Load every report; a large fleet is read by a pool of processes (parsing JSON is
    CPU-bound), a small one, or one where no pool can start, in this process."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(names) < PARALLEL_FROM or workers < 2:
        return _load_chunk((directory, names, name_set))
    import concurrent.futures
    from concurrent.futures.process import BrokenProcessPool

    size = max(16, len(names) // (workers * 4) + 1)
    jobs = [(directory, names[i:i + size], name_set) for i in range(0, len(names), size)]
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            return [item for chunk in pool.map(_load_chunk, jobs) for item in chunk]
    except (OSError, RuntimeError, BrokenProcessPool):
        return _load_chunk((directory, names, name_set))


def _common(hosts: List[Dict[str, Any]], key: str, total: int) -> List[Dict[str, Any]]:
    """Finding ids under `key` across hosts, most hosts first, with example hosts."""
    groups: Dict[str, Dict[str, Any]] = {}
    for host in hosts:
        for fid in host[key]:
            group = groups.get(fid)
            if group is None:
                group = groups[fid] = {"id": fid, "title": host["titles"].get(fid, ""),
                                       "hosts": 0, "examples": []}
            group["hosts"] += 1
            if len(group["examples"]) < EXAMPLE_HOSTS:
                group["examples"].append(host["hostname"])
    out = sorted(groups.values(), key=lambda g: (-g["hosts"], g["id"]))
    for group in out:
        group["pct"] = round(100.0 * group["hosts"] / total, 1) if total else 0.0
    return out


FLEET_DOCUMENT = "fleet.json"   # written by `migrate fleet scan|assess` next to the host reports


def _is_fleet_document(path: str) -> bool:
    """fleet.json as `fleet scan` writes it (a host report has findings, this has states)."""
    import json
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "states" in data and "findings" not in data


def fleet_model(reports_dir: str) -> Dict[str, Any]:
    """The dashboard's data: hosts, verdict counts, common blockers/warnings, problems."""
    try:
        names = sorted(os.listdir(reports_dir))
    except OSError as exc:
        from migrate.errors import BadInput
        raise BadInput("cannot read reports directory %s: %s" % (reports_dir, exc.strerror or exc)
                       ) from None
    name_set = set(names)
    hosts: List[Dict[str, Any]] = []
    problems: List[Dict[str, str]] = []
    ignored = 0
    wanted = []
    fleet_document = False
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        if name.endswith(".facts.json"):
            ignored += 1
            continue
        if name == FLEET_DOCUMENT and _is_fleet_document(os.path.join(reports_dir, name)):
            fleet_document = True   # the summary `fleet scan`/`fleet assess` write beside the reports
            continue
        wanted.append(name)
    for record, problem in _load_all(reports_dir, wanted, name_set):
        if record is not None:
            hosts.append(record)
        else:
            problems.append(problem)  # type: ignore[arg-type]
    hosts.sort(key=lambda h: (VERDICT_ORDER.index(h["verdict"]), -h["blockers"], -h["warnings"],
                              h["hostname"], h["file"]))
    total = len(hosts) + len(problems)
    counts = {v: sum(1 for h in hosts if h["verdict"] == v) for v in VERDICT_ORDER}
    return {
        "directory": os.path.abspath(reports_dir),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total": total,
        "assessed": len(hosts),
        "by_verdict": counts,
        "incomplete": sum(1 for h in hosts if not h["complete"]),
        "unassessed": problems,
        "ignored_facts_files": ignored,
        "fleet_document": fleet_document,
        "top_blockers": _common(hosts, "blocker_ids", total),
        "top_warnings": _common(hosts, "warning_ids", total),
        "incomplete_reasons": _common(hosts, "partial", total),
        "targets": _tally(h["target"] for h in hosts),
        "sources": _tally(h["source"] for h in hosts),
        "hosts": hosts,
    }


def _tally(values: Any) -> List[Tuple[str, int]]:
    out: Dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


def _chart(model: Dict[str, Any]) -> List[Dict[str, Any]]:
    parts = [(VERDICTS[v][0], model["by_verdict"][v], "v-" + VERDICTS[v][1]) for v in VERDICT_ORDER]
    parts.append(("could not be assessed", len(model["unassessed"]), "v-unassessed"))
    return htmlkit.bar_rows(parts, width=420)


def render_fleet(reports_dir: str, model: Optional[Dict[str, Any]] = None) -> str:
    """The fleet dashboard HTML for the reports in `reports_dir`."""
    model = model if model is not None else fleet_model(reports_dir)
    rows = []
    for host in model["hosts"]:
        rows.append((host, urllib.parse.quote(host["html"]) if host["html"] else None,
                     VERDICTS[host["verdict"]]))
    summary = {"total": model["total"], "assessed": model["assessed"],
               "by_verdict": model["by_verdict"], "incomplete": model["incomplete"],
               "unassessed": len(model["unassessed"]),
               "top_blockers": [{"id": b["id"], "hosts": b["hosts"]} for b in model["top_blockers"][:20]]}
    return htmlkit.render("fleet.html.j2", f=model, rows=rows, chart=_chart(model),
                          verdicts=VERDICTS, max_ids=MAX_IDS_PER_ROW, summary_json=summary)
