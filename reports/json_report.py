"""The versioned JSON report envelope of one assessment."""
from __future__ import annotations

import dataclasses
import time
from functools import lru_cache
from typing import Any, Dict

from migrate import __version__
from migrate.engine import Assessment
from migrate.source import identify_source

REPORT_SCHEMA_VERSION = 1


def _finding(f: Any) -> Dict[str, Any]:
    data = dataclasses.asdict(f)
    data["remediation"]["commands"] = [list(c) for c in f.remediation.commands]
    return data


def build_report(assessment: Assessment, include_facts: bool = True) -> Dict[str, Any]:
    facts, manifest = assessment.facts, assessment.manifest
    source = identify_source(facts)
    failed = facts.failed_probes()
    report: Dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "migrate", "version": __version__},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"hostname": facts.os.hostname, "machine_id_sha256": facts.os.machine_id_sha256,
                 "root": facts.root, "arch": facts.os.arch, "collected_at": facts.collected_at},
        "source": None if source is None else {
            "distro": source.distro, "variant": source.variant, "major": source.major,
            "minor": source.minor, "label": source.label, "supported": source.supported,
            "evidence": list(source.evidence)},
        "target": {"id": manifest.id, "name": manifest.name, "version": manifest.version,
                   "manifest_sha256": _file_sha256(manifest.path)},
        "summary": {
            "verdict": assessment.verdict,
            "complete": assessment.complete,
            "blockers": assessment.count("blocker"),
            "warnings": assessment.count("warning"),
            "info": assessment.count("info"),
            "waived": sum(1 for f in assessment.findings if f.waived),
            "checks": {status: sum(1 for r in assessment.results if r.status == status)
                       for status in ("passed", "findings", "not_applicable", "skipped", "error")},
            "failed_probes": {name: dataclasses.asdict(p) for name, p in failed.items()},
        },
        "checks": [{"id": r.check_id, "title": r.title, "category": r.category,
                    "status": r.status, "reason": r.reason, "origin": r.origin,
                    "duration_ms": r.duration_ms, "finding_ids": [f.id for f in r.findings]}
                   for r in assessment.results],
        "findings": [_finding(f) for f in assessment.findings],
        "unused_waivers": [dataclasses.asdict(w) for w in assessment.unused_waivers],
    }
    from migrate.kerneldiff import kernel_diff
    from migrate.smcrypto import sm_matrix

    report["kernel_diff"] = _section(lambda: kernel_diff(facts, manifest))
    report["sm_matrix"] = _section(lambda: sm_matrix(facts, manifest))
    if include_facts:
        report["facts"] = facts.to_dict()
    return report


@lru_cache(maxsize=None)
def _file_sha256(path: str) -> str:
    """Digest of a shipped manifest file: read once per process, not once per host."""
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _section(compute: Any) -> Dict[str, Any]:
    """A computed report section; a failure is recorded in it, never a crashed report."""
    try:
        return compute()
    except Exception as exc:  # the report must still be written, and say what is missing
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
