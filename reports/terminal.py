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
