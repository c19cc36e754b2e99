"""The self-contained HTML readiness report of one host, rendered from the JSON envelope.

``render_host_html(report)`` takes the envelope that ``migrate assess --json`` prints
(``reports.json_report.build_report``) and returns one HTML file: inline CSS, inline
SVG charts and a little inline JavaScript (sorting/filtering, copy buttons) that the
page does not need to be read. It works air-gapped and prints well. The verdict comes
first; everything from the host is escaped by jinja2's autoescape.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import htmlkit
from .htmlkit import SEVERITY_ORDER, STATUS_ORDER, VERDICTS

STATUS_TEXT = {"passed": "passed", "findings": "findings", "not_applicable": "not applicable",
               "skipped": "skipped", "error": "error"}


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _category(finding: Dict[str, Any], categories: Dict[str, str]) -> str:
    category = categories.get(str(finding.get("check_id") or ""))
    if category:
        return category
    return str(finding.get("id") or "other").split(".", 1)[0]


def _finding_view(finding: Dict[str, Any], categories: Dict[str, str]) -> Dict[str, Any]:
    remediation = _dict(finding.get("remediation"))
    return {
        "id": str(finding.get("id", "")),
        "severity": str(finding.get("severity", "info")),
        "title": str(finding.get("title", "")),
        "summary": str(finding.get("summary", "")),
        "subjects": [str(s) for s in _list(finding.get("subjects"))],
        "overridable": bool(finding.get("overridable")),
        "waived": bool(finding.get("waived")),
        "waiver_reasons": [str(r) for r in _list(finding.get("waiver_reasons"))],
        "hint": str(remediation.get("hint") or ""),
        "commands": [htmlkit.shell_line(c) for c in _list(remediation.get("commands"))
                     if isinstance(c, list)],
        "playbook_task": remediation.get("playbook_task"),
        "links": [str(link) for link in _list(finding.get("links"))],
        "check_id": str(finding.get("check_id") or ""),
        "category": _category(finding, categories),
    }


def verdict_view(summary: Dict[str, Any]) -> Dict[str, Any]:
    """Verdict label, css class and counts from the envelope's summary."""
    key = str(summary.get("verdict", ""))
    label, cls = VERDICTS.get(key, ("Unknown verdict %r" % key, "blocked"))
    return {"key": key, "label": label, "cls": cls, "complete": summary.get("complete") is not False,
            "blockers": int(summary.get("blockers") or 0),
            "warnings": int(summary.get("warnings") or 0),
            "info": int(summary.get("info") or 0), "waived": int(summary.get("waived") or 0)}


def not_assessed(report: Dict[str, Any]) -> List[Dict[str, str]]:
    """What the assessment could not establish: failed probes, skipped and failed checks."""
    out = []
    for name, probe in sorted(_dict(_dict(report.get("summary")).get("failed_probes")).items()):
        probe = _dict(probe)
        out.append({"what": "probe %s" % name, "status": str(probe.get("status", "")),
                    "reason": str(probe.get("message", ""))})
    for check in _list(report.get("checks")):
        if isinstance(check, dict) and check.get("status") in ("skipped", "error"):
            out.append({"what": "check %s" % check.get("id", ""), "status": str(check["status"]),
                        "reason": str(check.get("reason", ""))})
    return out


def _epoch_version(pkg: Dict[str, Any]) -> str:
    evr = "%s-%s" % (pkg.get("version", ""), pkg.get("release", ""))
    return "%s:%s" % (pkg["epoch"], evr) if pkg.get("epoch") else evr


def facts_view(facts: Dict[str, Any]) -> Dict[str, Any]:
    """The appendix: packages, repos, kernel modules, probes (empty lists when absent)."""
    origins = _dict(_dict(facts.get("pkgmgr")).get("origins"))
    packages = []
    for pkg in _list(facts.get("packages")):
        if not isinstance(pkg, dict):
            continue
        size = pkg.get("size")
        packages.append({
            "name": str(pkg.get("name", "")), "evr": _epoch_version(pkg),
            "arch": str(pkg.get("arch") or ""), "vendor": str(pkg.get("vendor") or ""),
            "key": str(pkg.get("sigkey_id") or ""),
            "origin": str(origins.get(str(pkg.get("nevra", ""))) or ""),
            "size": size if isinstance(size, int) else "",
            "size_text": _size(size) if isinstance(size, int) else ""})
    packages.sort(key=lambda p: (p["name"], p["evr"], p["arch"]))
    repos = []
    for repo in _list(_dict(facts.get("repos")).get("repos")):
        if not isinstance(repo, dict):
            continue
        expanded = _dict(repo.get("expanded"))
        urls = (_list(expanded.get("baseurl")) or [expanded.get("mirrorlist") or
                                                  expanded.get("metalink") or ""])
        repos.append({"id": str(repo.get("id", "")), "name": str(expanded.get("name") or
                                                                  repo.get("name") or ""),
                      "enabled": repo.get("enabled"), "gpgcheck": repo.get("gpgcheck"),
                      "file": str(repo.get("file") or ""), "urls": [str(u) for u in urls if u]})
    kmods = _dict(facts.get("kmods"))
    kernel = _dict(facts.get("kernel"))
    probes = [{"name": name, "status": str(_dict(p).get("status", "")),
               "message": str(_dict(p).get("message", ""))}
              for name, p in sorted(_dict(facts.get("probes")).items())]
    return {
        "present": bool(facts),
        "packages": packages,
        "packages_known": isinstance(facts.get("packages"), list),
        "repos": repos,
        "loaded": [m for m in _list(kmods.get("loaded")) if isinstance(m, dict)],
        "loaded_known": isinstance(kmods.get("loaded"), list),
        "out_of_tree": [m for m in _list(kmods.get("out_of_tree")) if isinstance(m, dict)],
        "dkms": [m for m in _list(kmods.get("dkms")) if isinstance(m, dict)],
        "kernel": {"release": kernel.get("release"), "cmdline": kernel.get("cmdline"),
                   "config_path": kernel.get("config_path")},
        "probes": probes,
        "schema_version": facts.get("schema_version"),
        "collector": _dict(facts.get("collector")),
    }


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return str(size)


def host_view(report: Dict[str, Any]) -> Dict[str, Any]:
    """Everything the host template shows, derived from the envelope and tolerant of
    missing optional parts (an older or partial envelope still renders)."""
    summary = _dict(report.get("summary"))
    checks = [c for c in _list(report.get("checks")) if isinstance(c, dict)]
    categories = {str(c.get("id")): str(c.get("category") or "") for c in checks}
    findings = [_finding_view(f, categories) for f in _list(report.get("findings"))
                if isinstance(f, dict)]
    findings.sort(key=lambda f: (f["waived"], SEVERITY_ORDER.get(f["severity"], 3), f["id"]))
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(finding["category"], []).append(finding)
    status_counts = {s: sum(1 for c in checks if c.get("status") == s) for s in STATUS_ORDER}
    verdict = verdict_view(summary)
    host = _dict(report.get("host"))
    source = _dict(report.get("source"))
    target = _dict(report.get("target"))
    hostname = str(host.get("hostname") or host.get("root") or "unnamed host")
    check_rows = sorted(checks, key=lambda c: (STATUS_ORDER.index(c["status"])
                                               if c.get("status") in STATUS_ORDER else 9,
                                               str(c.get("id"))))
    return {
        "hostname": hostname,
        "host": host,
        "source_label": str(source.get("label") or "unknown source"),
        "source": source,
        "target": target,
        "target_label": str(target.get("name") or target.get("id") or "unknown target"),
        "verdict": verdict,
        "not_assessed": not_assessed(report),
        "blockers": [f for f in findings if f["severity"] == "blocker" and not f["waived"]],
        "groups": sorted(groups.items(), key=lambda kv: (min(
            SEVERITY_ORDER.get(f["severity"], 3) + (5 if f["waived"] else 0) for f in kv[1]), kv[0])),
        "finding_count": len(findings),
        "migration": [f for f in findings if f["id"].startswith("system.migration_")],
        "checks": [{"id": str(c.get("id", "")), "title": str(c.get("title", "")),
                    "category": str(c.get("category", "")), "status": str(c.get("status", "")),
                    "status_text": STATUS_TEXT.get(str(c.get("status")), str(c.get("status"))),
                    "reason": str(c.get("reason") or ""), "origin": str(c.get("origin") or ""),
                    "findings": len(_list(c.get("finding_ids"))),
                    "duration_ms": c.get("duration_ms")} for c in check_rows],
        "status_counts": status_counts,
        "check_bar": htmlkit.bar_segments(
            [(STATUS_TEXT[s], status_counts[s], "st-" + s) for s in STATUS_ORDER]),
        "severity_bar": htmlkit.bar_rows(
            [("blockers", verdict["blockers"], "sev-blocker"),
             ("warnings", verdict["warnings"], "sev-warning"),
             ("info", verdict["info"], "sev-info"), ("waived", verdict["waived"], "sev-waived")],
            width=300),
        "kernel_diff": _optional_block(report, "kernel_diff"),
        "sm_matrix": _optional_block(report, "sm_matrix"),
        "kernel_view": kernel_view(report.get("kernel_diff")),
        "sm_view": sm_view(report.get("sm_matrix")),
        "kernel_error": _block_error(report.get("kernel_diff")),
        "sm_error": _block_error(report.get("sm_matrix")),
        "unused_waivers": [w for w in _list(report.get("unused_waivers")) if isinstance(w, dict)],
        "facts": facts_view(_dict(report.get("facts"))),
        "tool": _dict(report.get("tool")),
        "schema_version": report.get("schema_version"),
        "generated_at": str(report.get("generated_at") or ""),
    }


def _block_error(block: Any) -> Optional[str]:
    """The error a section recorded instead of its content ({"error": ...})."""
    if isinstance(block, dict) and set(block) == {"error"}:
        return str(block["error"])
    return None


def _optional_block(report: Dict[str, Any], key: str) -> Optional[Dict[str, Any]]:
    """A block another part of migrate may add (kernel_diff, sm_matrix): rendered
    generically when present, None (shown as "not assessed") when absent."""
    if key not in report or report[key] is None:
        return None
    return htmlkit.data_node(report[key])


CHANGE_ORDER = {"lost": 0, "unknown": 1, "gained": 2, "same": 3}


def _status_cell(side: Any) -> Dict[str, str]:
    side = _dict(side)
    status = str(side.get("status", "unknown"))
    return {"status": status, "cls": htmlkit.status_class(status),
            "evidence": str(side.get("evidence") or "")}


def kernel_view(block: Any) -> Optional[Dict[str, Any]]:
    """The kernel capability diff as tables, when it has the shape migrate.kerneldiff
    writes (``capabilities`` with source/target status per capability); else None
    and the block is rendered generically."""
    if not isinstance(block, dict) or not isinstance(block.get("capabilities"), list):
        return None
    rows = []
    for cap in block["capabilities"]:
        if not isinstance(cap, dict):
            return None
        rows.append({"id": str(cap.get("id", "")), "title": str(cap.get("title", "")),
                     "group": str(cap.get("group", "")), "change": str(cap.get("change", "")),
                     "change_cls": htmlkit.status_class(str(cap.get("change", ""))),
                     "used": cap.get("used_on_source"),
                     "source": _status_cell(cap.get("source")),
                     "target": _status_cell(cap.get("target"))})
    rows.sort(key=lambda r: (CHANGE_ORDER.get(r["change"], 1), r["group"], r["id"]))
    bpf = []
    for kind, info in sorted(_dict(block.get("bpf")).items()):
        info = _dict(info)
        counts = _dict(info.get("counts"))
        bpf.append({"kind": kind, "total": info.get("total"),
                    "source": _dict(counts.get("source")), "target": _dict(counts.get("target")),
                    "lost": [str(x) for x in _list(info.get("lost"))],
                    "gained": [str(x) for x in _list(info.get("gained"))],
                    "unknown": len(_list(info.get("unknown")))})
    rest = {k: v for k, v in block.items()
            if k not in ("capabilities", "bpf", "source", "target", "schema", "target_id")
            and v not in (None, [], {})}
    return {"source": str(_dict(block.get("source")).get("label") or "source kernel"),
            "target": str(_dict(block.get("target")).get("label") or "target kernel"),
            "source_config": str(_dict(block.get("source")).get("config") or ""),
            "target_config": str(_dict(block.get("target")).get("config") or ""),
            "rows": rows, "lost": sum(1 for r in rows if r["change"] == "lost"),
            "bpf": bpf, "rest": htmlkit.data_node(rest) if rest else None}


def sm_view(block: Any) -> Optional[Dict[str, Any]]:
    """The SM readiness matrix as layer x algorithm (source -> target), when it has the
    shape migrate.smcrypto writes (``algorithms``, ``layers``, ``source``, ``target``)."""
    if not isinstance(block, dict) or not all(isinstance(block.get(k), (dict, list)) for k in (
            "algorithms", "layers", "source", "target")):
        return None
    algorithms = [str(a) for a in _list(block["algorithms"])]
    rows = []
    for layer, supported in _dict(block["layers"]).items():
        cells = []
        for alg in algorithms:
            if alg not in _list(supported):
                cells.append(None)
                continue
            cells.append({"source": _status_cell(_dict(_dict(block["source"]).get(layer)).get(alg)),
                          "target": _status_cell(_dict(_dict(block["target"]).get(layer)).get(alg))})
        rows.append({"layer": str(layer), "cells": cells})
    rest = {k: v for k, v in block.items()
            if k not in ("algorithms", "layers", "source", "target", "target_id")
            and v not in (None, [], {})}
    return {"algorithms": algorithms, "rows": rows,
            "rest": htmlkit.data_node(rest) if rest else None}


def embedded_summary(view: Dict[str, Any], report: Dict[str, Any]) -> Dict[str, Any]:
    """The machine-readable summary embedded in the page (``#migrate-summary``)."""
    return {"schema_version": report.get("schema_version"), "host": view["hostname"],
            "target": view["target"].get("id"), "verdict": view["verdict"]["key"],
            "complete": view["verdict"]["complete"],
            "summary": {k: view["verdict"][k] for k in ("blockers", "warnings", "info", "waived")},
            "blockers": [f["id"] for f in view["blockers"]]}


def render_host_html(report: Dict[str, Any]) -> str:
    """The HTML readiness report of one host from its JSON envelope."""
    view = host_view(report)
    return htmlkit.render("host.html.j2", v=view, summary_json=embedded_summary(view, report))

