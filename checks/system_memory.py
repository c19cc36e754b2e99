"""Detects a host with less memory than the EL release's minimum.

Why it matters: the target is an EL rebuild; below the EL minimum, dnf's
metadata handling during the swap and the target's services can run out of
memory (the OOM killer stopping dnf mid-transaction leaves a half-migrated
host).

Facts: system.memory_total_kb (/proc/meminfo MemTotal), os.arch.
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

# Minimum RAM per architecture, KiB: leapp-repository's checkmemory actor (RHEL 8 minimal
# hardware requirements, https://access.redhat.com/articles/rhel-limits): x86_64 1536 MiB,
# aarch64 2048 MiB, ppc64le 2048 MiB, s390x 1024 MiB
# (repos/system_upgrade/common/actors/checkmemory/libraries/checkmemory.py, min_req_memory).
MIN_MEMORY_KIB = {"x86_64": 1536 * 1024, "aarch64": 2048 * 1024, "ppc64le": 2048 * 1024,
                  "s390x": 1024 * 1024}
DEFAULT_MIN_MEMORY_KIB = 2048 * 1024  # other architectures: the largest of the above


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    total = facts.system.memory_total_kb
    if total is None:
        raise MissingFacts("/proc/meminfo has no MemTotal")
    minimum = MIN_MEMORY_KIB.get(facts.os.arch or "", DEFAULT_MIN_MEMORY_KIB)
    if total >= minimum:
        return []
    return [Finding(
        id="system.memory_low", severity="warning", overridable=True,
        title="%d MiB of memory is below the EL minimum of %d MiB" % (total // 1024, minimum // 1024),
        summary="MemTotal is %d KiB; the EL 8 minimum for %s is %d MiB (Leapp's checkmemory figure). "
                "dnf may be killed by the OOM killer during the swap to %s."
                % (total, facts.os.arch or "this architecture", minimum // 1024, manifest.name),
        subjects=("memory",),
        remediation=Remediation(
            hint="Add memory (or swap space for the migration window) before the swap.",
            commands=(("free", "-m"),)),
    )]


CHECK = Check(
    id="system.memory",
    title="Enough memory for the swap and the target",
    category="system",
    run=run,
    requires=("system.memory",),
    description=__doc__,
)
