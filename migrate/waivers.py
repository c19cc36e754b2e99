"""Waivers: a fleet owner's accepted findings, by finding id and optionally subject.

File format (YAML)::

    waivers:
      - id: kmod.out_of_tree
        subject: wireguard          # optional: only this subject
        reason: rebuilt by the platform team for the target kernel (CHG-1234)

A waiver without subject accepts the whole finding. Subject waivers accept a
finding when they cover all of its subjects; otherwise the covered subjects
are listed on the finding and it still counts. Waivers that match nothing are
reported, because a stale waiver usually means a renamed finding.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from migrate.errors import BadInput


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    subject: Optional[str] = None


def parse_waivers(data: Any, source: str) -> Tuple[Waiver, ...]:
    if isinstance(data, dict) and set(data) == {"waivers"}:
        data = data["waivers"]
    if data is None:
        return ()
    if not isinstance(data, list):
        raise BadInput("%s: expected a list of waivers (or a 'waivers:' key)" % source)
    waivers = []
    for index, item in enumerate(data):
        where = "%s: waivers[%d]" % (source, index)
        if not isinstance(item, dict):
            raise BadInput("%s: expected a mapping with id and reason" % where)
        unknown = set(item) - {"id", "subject", "reason"}
        if unknown:
            raise BadInput("%s: unknown key %s" % (where, sorted(unknown)[0]))
        for key in ("id", "reason"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise BadInput("%s.%s: required, a non-empty string" % (where, key))
        subject = item.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise BadInput("%s.subject: must be a string" % where)
        waivers.append(Waiver(item["id"].strip(), item["reason"].strip(), subject))
    return tuple(waivers)


def load_waivers(path: str) -> Tuple[Waiver, ...]:
    from migrate.yamlfile import read_yaml

    return parse_waivers(read_yaml(path, "waiver file"), path)


def apply_waivers(results: Sequence[Any], waivers: Sequence[Waiver]) -> Tuple[List[Any], List[Waiver]]:
    """Mark findings covered by waivers; return updated results and unused waivers."""
    used = set()
    updated = []
    for result in results:
        findings = []
        for finding in result.findings:
            whole = [w for w in waivers if w.id == finding.id and w.subject is None]
            by_subject = [w for w in waivers if w.id == finding.id and w.subject is not None
                          and w.subject in finding.subjects]
            used.update(whole + by_subject)
            covered = tuple(sorted({w.subject for w in by_subject}))
            fully = bool(whole) or (bool(finding.subjects) and set(covered) >= set(finding.subjects))
            reasons = tuple(w.reason for w in whole + by_subject)
            findings.append(dataclasses.replace(finding, waived=fully, waiver_reasons=reasons,
                                                waived_subjects=covered))
        updated.append(dataclasses.replace(result, findings=tuple(findings)))
    return updated, [w for w in waivers if w not in used]
