"""Detects FIPS mode, on now or configured for the next boot.

Why it matters: in FIPS mode the kernel, OpenSSL, libgcrypt, GnuTLS and NSS
run power-on self-tests and integrity checks, and the kernel panics or a
library refuses to work when one fails. The swap replaces all of them (and
the dracut fips module) with the target's builds, whose FIPS mode support
and validation status (CMVP certificates) are not recorded in the manifest.
A host that must run in FIPS mode for compliance cannot assume the target
gives it the same standing.

Facts: crypto.fips_enabled (/proc/sys/crypto/fips_enabled),
crypto.fips_cmdline (fips=1 on the kernel command line), crypto.policy
(FIPS crypto policy on EL8).
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    crypto = facts.crypto
    signals = []
    if crypto.fips_enabled:
        signals.append("/proc/sys/crypto/fips_enabled is 1")
    if crypto.fips_cmdline:
        signals.append("fips=1 is on the kernel command line")
    if crypto.policy and crypto.policy.split(":")[0].strip().upper() == "FIPS":
        signals.append("the system-wide crypto policy is %s" % crypto.policy)
    if not signals:
        if facts.probe("crypto.fips").status != "ok" and facts.probe("crypto.policy").status != "ok":
            raise MissingFacts("FIPS mode unknown: %s; %s" % (
                facts.probe("crypto.fips").message or "crypto.fips not read",
                facts.probe("crypto.policy").message or "crypto.policy not read"))
        return []
    return [Finding(
        id="system.fips_enabled", severity="blocker", overridable=True,
        title="FIPS mode is on or configured",
        summary="FIPS signals: %s. The swap replaces the kernel and every crypto library whose FIPS self-tests "
                "run at boot and start-up; %s's FIPS support and validation status are not "
                "established here, and a self-test failure in FIPS mode stops the kernel or the "
                "service." % ("; ".join(signals), manifest.name),
        subjects=("fips",),
        remediation=Remediation(
            hint="Confirm with the target vendor and your compliance team what FIPS standing %s "
                 "has; test the swap on a FIPS-mode clone; or leave FIPS mode for the migration "
                 "(fips-mode-setup --disable on EL8) and enable it again on the target." % manifest.name,
            commands=(("sysctl", "crypto.fips_enabled"), ("cat", "/proc/cmdline"))),
    )]


CHECK = Check(
    id="system.fips",
    title="FIPS mode and the target's crypto modules",
    category="system",
    run=run,
    description=__doc__,
)
