"""Detects UEFI Secure Boot switched on.

Why it matters: with Secure Boot on, the firmware only starts a shim it
trusts, the shim only a grub and kernel signed with a key it carries, and the
kernel only modules signed with a trusted key. The swap replaces shim, grub
and the kernel with the target distribution's builds, signed with the target
vendor's keys; whether this machine's firmware accepts the target's shim, and
whether the target's keys need enrolling (MOK), is not recorded in the
manifest. If the chain breaks, the host does not boot after the swap. Modules
built here (DKMS, kmods) must also be signed with a key the target kernel
trusts.

Facts: system.uefi, system.secure_boot (SecureBoot EFI variable).
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    if not facts.system.secure_boot:
        return []
    return [Finding(
        id="system.secure_boot_enabled", severity="blocker", overridable=True,
        title="UEFI Secure Boot is on: the %s boot chain must be trusted before the swap" % manifest.name,
        summary="The SecureBoot EFI variable is set. After the swap the firmware must accept %s's "
                "shim, which must accept its grub and kernel; out-of-tree modules must be signed with "
                "an enrolled key. Whether the target's shim is signed by a CA this firmware trusts is "
                "not established here." % manifest.name,
        subjects=("SecureBoot",),
        remediation=Remediation(
            hint="Boot %s's installation media with Secure Boot on on identical hardware to prove "
                 "its shim is accepted, enroll the target vendor's key with `mokutil --import` if "
                 "needed, or switch Secure Boot off in the firmware for the migration and back on "
                 "once the target boots. Waive this finding once the chain is verified." % manifest.name,
            commands=(("mokutil", "--sb-state"), ("mokutil", "--list-enrolled"))),
    )]


CHECK = Check(
    id="system.secure_boot",
    title="UEFI Secure Boot and the target's signed boot chain",
    category="system",
    run=run,
    requires=("system.secure_boot",),
    description=__doc__,
)
