"""A short human summary of an assessment for the terminal (stdout without --json)."""
from __future__ import annotations

import shlex
from typing import Any, List

from migrate.engine import Assessment
from migrate.source import identify_source

VERDICT_TEXT = {"ready": "READY", "ready_with_warnings": "READY WITH WARNINGS", "blocked": "BLOCKED"}


def _heading(assessment: Assessment) -> str:
    """`host: source -> target: ` (the verdict follows)."""
    facts = assessment.facts
    source = identify_source(facts)
    return "%s: %s -> %s: " % (facts.os.hostname or facts.root or "host",
                               source.label if source else "unknown source",
                               assessment.manifest.name)


def _counts(assessment: Assessment) -> str:
    return "  %d blocker(s), %d warning(s), %d info, %d waived; %d check(s) run" % (
        assessment.count("blocker"), assessment.count("warning"), assessment.count("info"),
        sum(1 for f in assessment.findings if f.waived), len(assessment.results))


def _ordered_findings(assessment: Assessment) -> List[Any]:
    """Unwaived first, blockers before warnings before info, then by id."""
    order = {"blocker": 0, "warning": 1, "info": 2}
    return sorted(assessment.findings, key=lambda f: (f.waived, order[f.severity], f.id))


def _unrun_checks(assessment: Assessment) -> List[Any]:
    return [r for r in assessment.results if r.status in ("skipped", "not_applicable", "error")]


def render_summary(assessment: Assessment) -> str:
    facts = assessment.facts
    lines: List[str] = []
    verdict = VERDICT_TEXT[assessment.verdict]
    if not assessment.complete:
        verdict += " (INCOMPLETE: partial result)"
    lines.append(_heading(assessment) + verdict)
    lines.append(_counts(assessment))
    if not assessment.complete:
        lines.append("  INCOMPLETE: some facts or checks failed; the result is partial")
        for name, probe in facts.failed_probes().items():
            lines.append("    probe %s: %s %s" % (name, probe.status, probe.message))
    for finding in _ordered_findings(assessment):
        tag = "waived" if finding.waived else finding.severity
        lines.append("  [%s] %s: %s" % (tag, finding.id, finding.title))
        for cmd in finding.remediation.commands if not finding.waived else ():
            lines.append("      $ %s" % shlex.join(cmd))
    for result in _unrun_checks(assessment):
        lines.append("  check %s %s: %s" % (result.check_id, result.status, result.reason))
    return "\n".join(lines) + "\n"


STYLE = {"blocker": "bold red", "warning": "yellow", "info": "cyan", "waived": "dim"}
VERDICT_STYLE = {"ready": "bold green", "ready_with_warnings": "bold yellow", "blocked": "bold red"}


def render_summary_rich(assessment: Assessment, console: "object") -> None:
    """The same summary in colour, for a terminal (rich is imported only here)."""
    from rich.table import Table
    from rich.text import Text

    verdict = Text(VERDICT_TEXT[assessment.verdict], style=VERDICT_STYLE[assessment.verdict])
    if not assessment.complete:
        verdict.append("  INCOMPLETE: partial result", style="bold magenta")
    console.print(Text(_heading(assessment)) + verdict)
    console.print(_counts(assessment), markup=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("severity", "finding", "title"):
        table.add_column(column, overflow="fold")
    for finding in _ordered_findings(assessment):
        tag = "waived" if finding.waived else finding.severity
        table.add_row(Text(tag, style=STYLE[tag]), Text(finding.id), Text(finding.title))
    if assessment.findings:
        console.print(table)
    for finding in assessment.findings:
        if finding.severity == "blocker" and not finding.waived:
            for cmd in finding.remediation.commands:
                console.print(Text("  $ " + shlex.join(cmd), style="bold"))
    for result in _unrun_checks(assessment):
        style = "red" if result.status == "error" else "dim"
        console.print(Text("  check %s %s: %s" % (result.check_id, result.status, result.reason),
                           style=style))
