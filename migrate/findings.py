"""Findings: what a check reports, with a stable id, severity and remediation.

Severity (how bad) is kept apart from ``overridable`` (whether a fleet owner may
accept it with a waiver and go ahead), as in leapp's reports.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

SEVERITIES = ("info", "warning", "blocker")
_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Remediation:
    hint: str = ""
    # Each command is an argv list, ready for subprocess or an Ansible `command:` task.
    commands: Tuple[Tuple[str, ...], ...] = ()
    playbook_task: Optional[str] = None


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    title: str
    summary: str
    subjects: Tuple[str, ...] = ()
    overridable: bool = False
    remediation: Remediation = field(default_factory=Remediation)
    links: Tuple[str, ...] = ()
    # Filled in by the engine:
    check_id: str = ""
    waived: bool = False
    waiver_reasons: Tuple[str, ...] = ()
    waived_subjects: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError("finding id %r is not of the form area.condition" % self.id)
        if self.severity not in SEVERITIES:
            raise ValueError("finding %s: unknown severity %r" % (self.id, self.severity))
        for cmd in self.remediation.commands:
            if not isinstance(cmd, tuple) or not all(isinstance(a, str) for a in cmd):
                raise ValueError("finding %s: remediation commands must be argv tuples" % self.id)

    @property
    def counts_against(self) -> bool:
        """Whether this finding still counts toward the verdict (not waived)."""
        return not self.waived
