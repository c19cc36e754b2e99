"""`migrate fleet assess`: assess a directory of `NAME.facts.json` files in one process.

The facts come from anywhere that runs the collector (the Ansible role `migrate_assess`
fetches them, `migrate fleet scan` leaves them, `migrate collect -o`). The manifest, the
target's repodata and the checks are loaded once; every host is assessed by the scanner's
own code (`scan.assess_host`), so `NAME.json`, `NAME.html` and `fleet.json` are exactly what
`migrate fleet scan` writes. A host whose facts file is missing, unreadable, malformed or of
another schema ends `collector_error` with a one-line message; a file or `--hosts` name that
is not a plain host name is rejected like an inventory name (migrate.fleet.inventory).
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from migrate import console
from migrate.errors import BadInput
from migrate.fleet import states
from migrate.fleet.inventory import check_host_name
from migrate.fleet.scan import ScanSummary, assess_host
from migrate.fleet.states import HostResult

FACTS_SUFFIX = ".facts.json"


def file_stem(name: str) -> str:
    """The output file stem of a host name, as the scanner makes it (':' -> '_')."""
    return name.replace(":", "_")


def select_hosts(facts_dir: str, names: Optional[Sequence[str]] = None
                 ) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The host names to assess and the rejected ones ((repr, reason) as the inventory reader
    reports them). Without `names`: every `NAME.facts.json` in `facts_dir`, sorted."""
    if names is None:
        try:
            entries = sorted(os.listdir(facts_dir))
        except OSError as exc:
            raise BadInput("--facts-dir %s: %s" % (facts_dir, exc.strerror or exc)) from None
        names = [e[:-len(FACTS_SUFFIX)] for e in entries if e.endswith(FACTS_SUFFIX)]
    elif not os.path.isdir(facts_dir):
        raise BadInput("--facts-dir %s: not a directory" % facts_dir)
    chosen: List[str] = []
    rejected: List[Tuple[str, str]] = []
    seen = set()
    for name in names:
        problem = check_host_name(name)
        if problem:
            rejected.append((repr(name), problem))
            continue
        if file_stem(name) in seen:
            if name not in chosen:
                rejected.append((repr(name), "duplicate host (after ':' -> '_' in file names)"))
            continue
        seen.add(file_stem(name))
        chosen.append(name)
    return chosen, rejected


class BatchAssessor:
    """Assess many hosts' facts against one manifest (loaded once), one host after another."""

    def __init__(self, facts_dir: str, out_dir: str, manifest: Any, waivers: Sequence[Any] = ()):
        from migrate.engine import discover_checks

        self.facts_dir, self.out_dir, self.manifest = facts_dir, out_dir, manifest
        self.waivers = tuple(waivers)
        self.discovery = discover_checks()
        self.used_waivers: set = set()

    def assess_one(self, name: str) -> HostResult:
        from migrate.facts import load_facts

        started = time.monotonic()
        stem = os.path.join(self.out_dir, file_stem(name))
        paths = {"facts": os.path.join(self.facts_dir, file_stem(name) + FACTS_SUFFIX),
                 "report": stem + ".json", "html": stem + ".html"}
        result = HostResult(name=name, state=states.OK, address=name)
        try:
            if not os.path.isfile(paths["facts"]):
                raise BadInput("%s: no facts file" % paths["facts"])
            facts = load_facts(paths["facts"])
            assessment = assess_host(facts, self.manifest, paths, result, self.waivers,
                                     self.discovery)
            unused = set(assessment.unused_waivers)
            self.used_waivers.update(w for w in self.waivers if w not in unused)
        except BadInput as exc:
            result.state, result.message = states.COLLECTOR_ERROR, _one_line(str(exc))
        except Exception as exc:  # one host's bug (or a full disk) never stops the batch
            console.debug("%s: %r", name, exc)
            result.state = states.COLLECTOR_ERROR
            result.message = _one_line("cannot assess: %s: %s" % (type(exc).__name__, exc))
        result.duration_s = time.monotonic() - started
        return result

    def run(self, names: Sequence[str], progress: Any) -> ScanSummary:
        results: List[HostResult] = []
        interrupted = False
        try:
            for name in names:
                result = self.assess_one(name)
                results.append(result)
                progress.host_done(result)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            progress.close()
        done = {r.name for r in results}
        for name in names:
            if name not in done:
                results.append(HostResult(name=name, state=states.INTERRUPTED, address=name,
                                          message="interrupted before this host"))
        return ScanSummary(results=results, interrupted=interrupted)

    @property
    def unused_waivers(self) -> List[Any]:
        return [w for w in self.waivers if w not in self.used_waivers]


def _one_line(text: str, limit: int = 400) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return "".join(ch if ch.isprintable() else "?" for ch in line)[:limit]

