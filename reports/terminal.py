"""A short human summary of an assessment for the terminal (stdout without --json)."""
from __future__ import annotations

import shlex
from typing import List

from migrate.engine import Assessment
from migrate.source import identify_source

VERDICT_TEXT = {"ready": "READY", "ready_with_warnings": "READY WITH WARNINGS", "blocked": "BLOCKED"}


def render_summary(assessment: Assessment) -> str:
    facts, manifest = assessment.facts, assessment.manifest
    source = identify_source(facts)
    lines: List[str] = []
    host = facts.os.hostname or facts.root or "host"
    verdict = VERDICT_TEXT[assessment.verdict]
    if not assessment.complete:
        verdict += " (INCOMPLETE: partial result)"
    lines.append("%s: %s -> %s: %s" % (host, source.label if source else "unknown source",
                                       manifest.name, verdict))
    lines.append("  %d blocker(s), %d warning(s), %d info, %d waived; %d check(s) run"
                 % (assessment.count("blocker"), assessment.count("warning"),
                    assessment.count("info"), sum(1 for f in assessment.findings if f.waived),
                    len(assessment.results)))
    if not assessment.complete:
        lines.append("  INCOMPLETE: some facts or checks failed; the result is partial")
        for name, probe in facts.failed_probes().items():
            lines.append("    probe %s: %s %s" % (name, probe.status, probe.message))
    order = {"blocker": 0, "warning": 1, "info": 2}
    for finding in sorted(assessment.findings, key=lambda f: (f.waived, order[f.severity], f.id)):
        tag = "waived" if finding.waived else finding.severity
        lines.append("  [%s] %s: %s" % (tag, finding.id, finding.title))
        for cmd in finding.remediation.commands if not finding.waived else ():
            lines.append("      $ %s" % shlex.join(cmd))
    for result in assessment.results:
        if result.status in ("skipped", "not_applicable", "error"):
            lines.append("  check %s %s: %s" % (result.check_id, result.status, result.reason))
    return "\n".join(lines) + "\n"


STYLE = {"blocker": "bold red", "warning": "yellow", "info": "cyan", "waived": "dim"}
VERDICT_STYLE = {"ready": "bold green", "ready_with_warnings": "bold yellow", "blocked": "bold red"}


def render_summary_rich(assessment: Assessment, console: "object") -> None:
    """The same summary in colour, for a terminal (rich is imported only here)."""
    from rich.table import Table
    from rich.text import Text

    facts, manifest = assessment.facts, assessment.manifest
    source = identify_source(facts)
    verdict = Text(VERDICT_TEXT[assessment.verdict], style=VERDICT_STYLE[assessment.verdict])
    if not assessment.complete:
        verdict.append("  INCOMPLETE: partial result", style="bold magenta")
    console.print(Text("%s: %s -> %s: " % (facts.os.hostname or facts.root or "host",
                                           source.label if source else "unknown source",
                                           manifest.name)) + verdict)
    console.print("  %d blocker(s), %d warning(s), %d info, %d waived; %d check(s) run" % (
        assessment.count("blocker"), assessment.count("warning"), assessment.count("info"),
        sum(1 for f in assessment.findings if f.waived), len(assessment.results)), markup=False)
    order = {"blocker": 0, "warning": 1, "info": 2}
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("severity", "finding", "title"):
        table.add_column(column, overflow="fold")
    for finding in sorted(assessment.findings, key=lambda f: (f.waived, order[f.severity], f.id)):
        tag = "waived" if finding.waived else finding.severity
        table.add_row(Text(tag, style=STYLE[tag]), Text(finding.id), Text(finding.title))
    if assessment.findings:
        console.print(table)
    for finding in assessment.findings:
        if finding.severity == "blocker" and not finding.waived:
            for cmd in finding.remediation.commands:
                console.print(Text("  $ " + shlex.join(cmd), style="bold"))
    for result in assessment.results:
        if result.status in ("skipped", "not_applicable", "error"):
            style = "red" if result.status == "error" else "dim"
            console.print(Text("  check %s %s: %s" % (result.check_id, result.status, result.reason),
                               style=style))
