"""Collect facts from this machine (or an offline root) in-process.

The collector module is imported rather than run as a subprocess: it is the
same code a remote host runs from stdin, and in-process it costs no interpreter
start-up (the assessment benchmark's floor is `rpm -qa` itself).
"""
from __future__ import annotations

from typing import Optional

from migrate import collector
from migrate.errors import BadInput
from migrate.facts import Facts


def collect_local(root: Optional[str] = None, rpm_backend: str = "auto",
                  timeout: float = 30.0) -> Facts:
    if root is not None and collector.root_problem(root):
        raise BadInput(collector.root_problem(root))
    data = collector.Collector(root=root, rpm_backend=rpm_backend, timeout=timeout).collect()
    return Facts.from_dict(data)
