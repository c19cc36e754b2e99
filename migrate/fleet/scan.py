"""Scan a fleet: a bounded pool of workers, one SSH session per host, per-host output.

Each host ends in one state (migrate.fleet.states). Results are written as they
arrive (atomic writes): `<name>.facts.json`, `<name>.json` (report envelope),
`<name>.html`; `fleet.json` summarises the scan at the end (also after Ctrl-C).
A host whose facts file is younger than max_age is not contacted again (its facts
are re-assessed, so a new target or repodata still applies) unless rescan is set.
"""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import paramiko

from migrate import console
from migrate.atomic import write_atomic
from migrate.errors import BadInput
from migrate.fleet import remote, ssh, states
from migrate.fleet.inventory import Host
from migrate.fleet.states import HostFailure, HostResult

FLEET_SCHEMA_VERSION = 1


def default_jobs() -> int:
    """Sized for the controller: SSH waits on the network, assessment on the CPU."""
    return min(64, max(16, 16 * (os.cpu_count() or 1)))


@dataclass
class ScanOptions:
    out_dir: str
    jobs: int = 0
    timeout: float = 120.0
    become: bool = False
    rescan: bool = False
    max_age: float = 24 * 3600.0
    collector_timeout: Optional[float] = None


@dataclass
class ScanSummary:
    results: List[HostResult]
    interrupted: bool = False
    rejected: List[Dict[str, str]] = field(default_factory=list)


def _one_line(data: bytes, limit: int = 300) -> str:
    text = data.decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    return line[:limit]


def _paths(opts: ScanOptions, host: Host) -> Dict[str, str]:
    stem = os.path.join(opts.out_dir, host.file_stem)
    return {"facts": stem + ".facts.json", "report": stem + ".json", "html": stem + ".html"}


class _Active:
    """Open transports of in-flight hosts, closed all at once on Ctrl-C."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: Dict[int, List[paramiko.Transport]] = {}

    def add(self, opened: List[paramiko.Transport]) -> None:
        with self._lock:
            self._by_id[id(opened)] = opened

    def remove(self, opened: List[paramiko.Transport]) -> None:
        with self._lock:
            self._by_id.pop(id(opened), None)

    def close_all(self) -> None:
        with self._lock:
            lists = list(self._by_id.values())
        for opened in lists:
            for transport in list(opened):
                transport.close()


class Scanner:
    def __init__(self, settings: ssh.SshSettings, opts: ScanOptions, manifest: Any) -> None:
        from migrate.engine import discover_checks

        self.settings, self.opts, self.manifest = settings, opts, manifest
        self.discovery = discover_checks()   # once per scan, not once per host (as fleet assess)
        self.stop = threading.Event()
        self.active = _Active()

    # -- one host ---------------------------------------------------------------------

    def scan_host(self, host: Host) -> HostResult:
        started = time.monotonic()
        paths = _paths(self.opts, host)
        result = HostResult(name=host.name, state=states.OK, address=host.address or host.name)
        try:
            if self.stop.is_set():
                raise HostFailure(states.INTERRUPTED, "scan interrupted before this host")
            facts = self._fresh_facts(paths["facts"])
            if facts is not None:
                result.cached = True
            else:
                facts = self._collect(host, result)
                write_atomic(paths["facts"], facts.to_json() + "\n")
            self._assess(facts, paths, result)
        except HostFailure as exc:
            result.state, result.message = exc.state, exc.message
            if self.stop.is_set() and exc.state != states.OK:
                result.state, result.message = states.INTERRUPTED, "scan interrupted (%s)" % exc.message
        result.duration_s = time.monotonic() - started
        return result

    def _fresh_facts(self, path: str) -> Optional[Any]:
        if self.opts.rescan:
            return None
        try:
            age = time.time() - os.stat(path).st_mtime
        except OSError:
            return None
        if age > self.opts.max_age:
            return None
        from migrate.facts import load_facts
        try:
            return load_facts(path)
        except BadInput:
            return None  # unreadable or stale schema: collect again

    def _collect(self, host: Host, result: HostResult) -> Any:
        deadline = time.monotonic() + self.opts.timeout
        for attempt in (1, 2):
            try:
                return self._collect_once(host, result, deadline)
            except HostFailure as exc:
                retry = (exc.transient and attempt == 1 and not self.stop.is_set()
                         and deadline - time.monotonic() > 1.0)
                if not retry:
                    raise
                console.debug("%s: %s; retrying once", host.name, exc.message)
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _collect_once(self, host: Host, result: HostResult, deadline: float) -> Any:
        ep = ssh.resolve(self.settings, host.name, user=host.user, port=host.port,
                         key_file=host.key_file, address=host.address)
        result.address = "%s@%s:%d" % (ep.user, ep.address, ep.port)
        opened: List[paramiko.Transport] = []
        self.active.add(opened)
        try:
            transport = ssh.connect(self.settings, ep, opened, deadline)
            command = remote.remote_command(host.root, self.opts.become, self.opts.collector_timeout)
            out = ssh.run_command(transport, command, remote.collector_source(), deadline)
        finally:
            self.active.remove(opened)
            for transport in reversed(opened):
                transport.close()
        return self._parse(out, host)

    def _parse(self, out: ssh.CommandResult, host: Host) -> Any:
        return facts_from_output(out, self.opts.become, host.user)

    def _assess(self, facts: Any, paths: Dict[str, str], result: HostResult) -> None:
        assess_host(facts, self.manifest, paths, result, discovery=self.discovery)

    # -- the pool ---------------------------------------------------------------------

    def run(self, hosts: List[Host], progress: Any) -> ScanSummary:
        jobs = max(1, min(self.opts.jobs or default_jobs(), len(hosts) or 1))
        results: Dict[str, HostResult] = {}
        interrupted = False
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fleet")
        futures: Dict[Future, Host] = {pool.submit(self._safe_scan, h): h for h in hosts}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    res = fut.result()
                    results[res.name] = res
                    progress.host_done(res)
        except KeyboardInterrupt:
            interrupted = True
            self.stop.set()
            for fut in pending:
                fut.cancel()
            self.active.close_all()
        finally:
            pool.shutdown(wait=True)
            progress.close()
        if interrupted:
            for fut, host in futures.items():
                if fut.done() and not fut.cancelled() and host.name not in results:
                    results[host.name] = fut.result()
        ordered = []
        for host in hosts:
            res = results.get(host.name) or HostResult(
                name=host.name, state=states.INTERRUPTED, address=host.address or host.name,
                message="scan interrupted before this host")
            ordered.append(res)
        return ScanSummary(results=ordered, interrupted=interrupted)

    def _safe_scan(self, host: Host) -> HostResult:
        try:
            return self.scan_host(host)
        except Exception as exc:  # one host's bug never stops the scan
            console.debug("%s: %s", host.name, exc)
            if self.stop.is_set():  # its connection was closed under it by Ctrl-C
                return HostResult(name=host.name, state=states.INTERRUPTED,
                                  address=host.address or host.name, message="scan interrupted")
            return HostResult(name=host.name, state=states.COLLECTOR_ERROR,
                              address=host.address or host.name,
                              message="internal error: %s: %s" % (type(exc).__name__, exc))


def facts_from_output(out: ssh.CommandResult, become: bool = False, user: Optional[str] = None) -> Any:
    """The collector's output as Facts, or HostFailure with the state that explains it."""
    err = out.stderr.decode("utf-8", "replace")
    if out.exit_status == remote.NO_PYTHON_EXIT and remote.NO_PYTHON_MARK in err:
        raise HostFailure(states.NO_PYTHON, _one_line(out.stderr))
    if become and "sudo:" in err and "password" in err:
        raise HostFailure(states.AUTH_FAILED, "sudo wants a password for %s (--become needs "
                          "passwordless sudo for the collector): %s"
                          % (user or "the user", _one_line(out.stderr)))
    if out.exit_status != 0:
        raise HostFailure(states.COLLECTOR_ERROR, "collector exited %d: %s"
                          % (out.exit_status, _one_line(out.stderr) or "(no message)"))
    from migrate.facts import Facts
    try:
        data = json.loads(out.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HostFailure(states.COLLECTOR_ERROR, "collector output is not JSON (%s): %r"
                          % (str(exc).splitlines()[0], out.stdout[:80])) from None
    try:
        return Facts.from_dict(data)
    except BadInput as exc:
        raise HostFailure(states.COLLECTOR_ERROR, "collector output is not valid facts: %s"
                          % exc) from None


def assess_host(facts: Any, manifest: Any, paths: Dict[str, str], result: HostResult,
                waivers: Sequence[Any] = (), discovery: Any = None) -> Any:
    """Assess one host's facts; write `paths["report"]` (JSON envelope, as `migrate assess
    -o X.json` writes it) and `paths["html"]`, each atomically; record the verdict and the
    unwaived blocker/warning counts in `result`. Returns the Assessment. Shared by `fleet
    scan` (one host as it arrives) and `fleet assess` (a directory of facts files)."""
    from migrate.engine import assess
    from migrate.reports.html_report import render_host_html
    from migrate.reports.json_report import build_report

    assessment = assess(facts, manifest, waivers, discovery)
    report = build_report(assessment)
    write_atomic(paths["report"], json.dumps(report, sort_keys=True) + "\n")
    write_atomic(paths["html"], render_host_html(report))
    result.verdict = assessment.verdict
    result.complete = assessment.complete
    result.blockers = assessment.count("blocker")
    result.warnings = assessment.count("warning")
    result.files = {k: os.path.basename(v) for k, v in paths.items()}
    return assessment


def fleet_document(summary: ScanSummary, target: str) -> Dict[str, Any]:
    counts = {s: 0 for s in states.STATES}
    verdicts: Dict[str, int] = {}
    for res in summary.results:
        counts[res.state] += 1
        if res.verdict:
            verdicts[res.verdict] = verdicts.get(res.verdict, 0) + 1
    return {"schema_version": FLEET_SCHEMA_VERSION,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "target": target, "interrupted": summary.interrupted,
            "total": len(summary.results), "states": counts, "verdicts": verdicts,
            "rejected": summary.rejected,
            "hosts": [r.to_dict() for r in summary.results]}
