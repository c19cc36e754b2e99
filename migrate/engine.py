"""The check engine: discovers checks, runs each against facts and a manifest.

Built-in checks are the modules of ``migrate.checks`` (each exposes ``CHECK``);
plugins register a ``Check`` (or a module exposing ``CHECK``) in the entry-point
group ``migrate.checks``. Every check gets exactly one recorded status:
``passed | findings | not_applicable | skipped | error``. A check that raises is
recorded as ``error`` with its message and the run goes on.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from migrate import console
from migrate.facts import Facts
from migrate.findings import Finding
from migrate.manifests import Manifest
from migrate.waivers import Waiver, apply_waivers

ENTRY_POINT_GROUP = "migrate.checks"
STATUSES = ("passed", "findings", "not_applicable", "skipped", "error")


class NotApplicable(Exception):
    """Raised by a check when it does not apply to this host/target pair."""


class MissingFacts(Exception):
    """Raised by a check when the facts it needs could not be collected."""


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    category: str
    run: Callable[[Facts, Manifest], Iterable[Finding]]
    # Probes that must have status "ok"; otherwise the check is skipped, naming them.
    requires: Tuple[str, ...] = ()
    description: str = ""
    origin: str = "built-in"


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    title: str
    category: str
    status: str
    reason: str = ""
    findings: Tuple[Finding, ...] = ()
    duration_ms: float = 0.0
    origin: str = "built-in"


@dataclass(frozen=True)
class Discovery:
    checks: Tuple[Check, ...]
    # Plugins that failed to load become error results, never silent omissions.
    errors: Tuple[CheckResult, ...] = ()


def _check_from(obj: object, where: str) -> Check:
    candidate = getattr(obj, "CHECK", obj)
    if not isinstance(candidate, Check):
        raise TypeError("%s does not provide a migrate.engine.Check" % where)
    return candidate


def _plugins_declared() -> bool:
    """Cheap pre-scan of sys.path: does any distribution declare our entry-point group?

    importlib.metadata then does the real (slower) discovery, so its semantics hold.
    """
    marker = "[%s]" % ENTRY_POINT_GROUP
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(entry or ".", name, "entry_points.txt"),
                              encoding="utf-8", errors="replace") as handle:
                        if marker in handle.read():
                            return True
                except OSError:
                    continue
    return False


def discover_checks(include_plugins: bool = True) -> Discovery:
    import migrate.checks as builtin

    checks: List[Check] = []
    errors: List[CheckResult] = []
    for info in sorted(pkgutil.iter_modules(builtin.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        name = "%s.%s" % (builtin.__name__, info.name)
        try:
            checks.append(_check_from(importlib.import_module(name), name))
        except Exception as exc:  # a broken built-in is a bug, but still never silent
            errors.append(CheckResult(info.name, name, "unknown", "error",
                                      "failed to load: %s: %s" % (type(exc).__name__, exc)))
    if include_plugins and _plugins_declared():
        from importlib import metadata  # costs ~25 ms, paid only when plugins exist

        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                check = _check_from(ep.load(), ep.value)
                checks.append(dataclasses.replace(check, origin="plugin %s" % ep.value))
            except Exception as exc:
                errors.append(CheckResult(ep.name, ep.value, "plugin", "error",
                                          "plugin failed to load: %s: %s" % (type(exc).__name__, exc),
                                          origin="plugin %s" % ep.value))
    seen = {}
    unique = []
    for check in checks:
        if check.id in seen:
            errors.append(CheckResult(check.id, check.title, check.category, "error",
                                      "duplicate check id (also defined by %s)" % seen[check.id],
                                      origin=check.origin))
            continue
        seen[check.id] = check.origin
        unique.append(check)
    return Discovery(tuple(unique), tuple(errors))


def run_check(check: Check, facts: Facts, manifest: Manifest) -> CheckResult:
    started = time.perf_counter()

    def result(status: str, reason: str = "", findings: Sequence[Finding] = ()) -> CheckResult:
        return CheckResult(check.id, check.title, check.category, status, reason,
                           tuple(findings), round((time.perf_counter() - started) * 1000, 3),
                           check.origin)

    missing = [(name, facts.probe(name)) for name in check.requires
               if facts.probe(name).status != "ok"]
    if missing:
        return result("skipped", "; ".join("needs %s, which is %s%s" % (
            name, probe.status, ": " + probe.message if probe.message else "")
            for name, probe in missing))
    try:
        found = list(check.run(facts, manifest) or ())
        for f in found:
            if not isinstance(f, Finding):
                raise TypeError("returned %r instead of a Finding" % type(f).__name__)
    except NotApplicable as exc:
        return result("not_applicable", str(exc))
    except MissingFacts as exc:
        return result("skipped", str(exc))
    except Exception as exc:
        if console.debugging():
            import traceback
            console.debug("check %s raised\n%s", check.id, traceback.format_exc())
        return result("error", "%s: %s" % (type(exc).__name__, exc))
    found = [dataclasses.replace(f, check_id=check.id) for f in found]
    return result("findings" if found else "passed", "", found)


@dataclass(frozen=True)
class Assessment:
    facts: Facts
    manifest: Manifest
    results: Tuple[CheckResult, ...]
    unused_waivers: Tuple[Waiver, ...] = ()

    @property
    def findings(self) -> Tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.findings)

    def count(self, severity: str, waived: bool = False) -> int:
        return sum(1 for f in self.findings if f.severity == severity and f.waived == waived)

    @property
    def complete(self) -> bool:
        """No probe failed and every check ran: an error or a skip (missing facts or
        target data) leaves part of the host unassessed."""
        return self.facts.complete and not any(r.status in ("error", "skipped") for r in self.results)

    @property
    def verdict(self) -> str:
        if self.count("blocker"):
            return "blocked"
        if self.count("warning"):
            return "ready_with_warnings"
        return "ready"


def assess(facts: Facts, manifest: Manifest, waivers: Sequence[Waiver] = (),
           discovery: Optional[Discovery] = None) -> Assessment:
    discovery = discovery or discover_checks()
    results = list(discovery.errors)
    for check in discovery.checks:
        results.append(run_check(check, facts, manifest))
    results.sort(key=lambda r: r.check_id)
    results, unused = apply_waivers(results, waivers)
    return Assessment(facts, manifest, tuple(results), tuple(unused))
