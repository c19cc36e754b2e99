"""JUnit XML of an assessment, so CI systems can gate on it.

One ``<testcase>`` per check: a check with unwaived blockers is a ``<failure>``
(with ``fail_on="warning"``, unwaived warnings too), a check that raised is an
``<error>``, a skipped or not-applicable check is ``<skipped>`` with its reason.
Other findings go to the test case's ``<system-out>``. Text from the host is
escaped by ElementTree, and characters XML 1.0 cannot carry are written as
``\\xNN``, so the file always parses.
"""
from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from typing import Any, Dict, List

_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SEVERITY_RANK = {"info": 0, "warning": 1, "blocker": 2}


def xml_text(value: Any) -> str:
    """`value` as text that XML 1.0 can carry (control characters as \\xNN)."""
    return _ILLEGAL_XML.sub(lambda m: "\\x%02x" % ord(m.group()), str(value))


def _element(parent: ET.Element, tag: str, text: str = "", **attrs: Any) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text:
        node.text = xml_text(text)
    return node


def _describe(finding: Dict[str, Any]) -> str:
    lines = ["[%s%s] %s: %s" % ("waived " if finding.get("waived") else "",
                                finding.get("severity", ""), finding.get("id", ""),
                                finding.get("title", ""))]
    if finding.get("summary"):
        lines.append("  " + str(finding["summary"]))
    if finding.get("subjects"):
        lines.append("  subjects: " + ", ".join(str(s) for s in finding["subjects"]))
    remediation = finding.get("remediation") or {}
    if remediation.get("hint"):
        lines.append("  remediation: " + str(remediation["hint"]))
    for command in remediation.get("commands") or ():
        lines.append("  $ " + shlex.join([str(a) for a in command]))
    return "\n".join(lines)


def render_junit(report: Dict[str, Any], fail_on: str = "blocker") -> str:
    """JUnit XML (a ``<testsuites>`` document with one ``<testsuite>``) for the envelope.

    ``fail_on`` is the lowest unwaived severity that fails a test case: "blocker"
    (default) or "warning", as ``migrate assess --fail-on``.
    """
    if fail_on not in ("blocker", "warning"):
        raise ValueError("fail_on must be 'blocker' or 'warning', not %r" % fail_on)
    threshold = SEVERITY_RANK[fail_on]
    host = report.get("host") or {}
    target = report.get("target") or {}
    summary = report.get("summary") or {}
    hostname = host.get("hostname") or host.get("root") or "host"
    by_check: Dict[str, List[Dict[str, Any]]] = {}
    for finding in report.get("findings") or ():
        by_check.setdefault(str(finding.get("check_id", "")), []).append(finding)

    suites = ET.Element("testsuites", {"name": "migrate"})
    suite = _element(suites, "testsuite", name="migrate assess %s -> %s" % (
        hostname, target.get("id", "?")), hostname=hostname,
        timestamp=report.get("generated_at", ""))
    properties = _element(suite, "properties")
    for name, value in (("verdict", summary.get("verdict", "")),
                        ("complete", str(summary.get("complete", "")).lower()),
                        ("target", target.get("id", "")),
                        ("source", (report.get("source") or {}).get("label", "unknown")),
                        ("tool", "%s %s" % ((report.get("tool") or {}).get("name", "migrate"),
                                            (report.get("tool") or {}).get("version", ""))),
                        ("report_schema_version", report.get("schema_version", ""))):
        _element(properties, "property", name=name, value=value)
    for name, probe in sorted((summary.get("failed_probes") or {}).items()):
        _element(properties, "property", name="failed_probe.%s" % name,
                 value="%s: %s" % (probe.get("status", ""), probe.get("message", "")))

    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for check in report.get("checks") or ():
        counts["tests"] += 1
        seconds = float(check.get("duration_ms") or 0) / 1000.0
        total_time += seconds
        case = _element(suite, "testcase", name=check.get("id", ""),
                        classname="migrate.%s" % (check.get("category") or "check"),
                        time="%.6f" % seconds)
        status, reason = check.get("status"), check.get("reason") or ""
        findings = by_check.get(str(check.get("id", "")), [])
        failing = [f for f in findings if not f.get("waived")
                   and SEVERITY_RANK.get(str(f.get("severity")), 0) >= threshold]
        if status == "error":
            counts["errors"] += 1
            _element(case, "error", reason, type="error", message=reason or "check failed")
        elif status in ("skipped", "not_applicable"):
            counts["skipped"] += 1
            _element(case, "skipped", message="%s: %s" % (status.replace("_", " "), reason))
        elif failing:
            counts["failures"] += 1
            worst = max(SEVERITY_RANK.get(str(f.get("severity")), 0) for f in failing)
            _element(case, "failure", "\n\n".join(_describe(f) for f in failing),
                     type=[k for k, v in SEVERITY_RANK.items() if v == worst][0],
                     message="%d finding(s): %s" % (len(failing), ", ".join(
                         sorted({str(f.get("id")) for f in failing}))))
        others = [f for f in findings if f not in failing]
        if others:
            _element(case, "system-out", "\n\n".join(_describe(f) for f in others))
    for node in (suites, suite):
        for key, value in counts.items():
            node.set(key, str(value))
        node.set("time", "%.6f" % total_time)
    if not summary.get("complete", True):
        _element(suite, "system-err", "INCOMPLETE: a probe failed or a check was skipped or "
                 "failed; the result is partial")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        suites, encoding="unicode") + "\n"
