"""Detects an assessment run by a user who could not apply the migration.

Why it matters: applying the swap installs and removes packages, rewrites
/etc and the boot loader: it needs root (effective uid 0). An assessment run
as another user also reads less of the host (denied probes make the result
incomplete). For an offline root the user who will apply is not known and
the check does not apply.

Facts: pkgmgr.euid (probe system.user).
Manifest keys: none.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    probe = facts.probe("system.user")
    if probe.status == "absent":
        raise NotApplicable(probe.message or "the user who will apply is not known")
    if probe.status != "ok" or facts.pkgmgr.euid is None:
        raise MissingFacts("the effective user id was not recorded: %s" % (probe.message or probe.status))
    if facts.pkgmgr.euid == 0:
        return []
    return [Finding(
        id="system.not_root", severity="warning", overridable=True,
        title="Assessed as uid %d: applying the migration needs root" % facts.pkgmgr.euid,
        summary="The collector ran with effective uid %d. The swap itself must run as root "
                "(directly, via sudo, or Ansible's become); files only root may read were not "
                "assessed." % facts.pkgmgr.euid,
        subjects=("uid %d" % facts.pkgmgr.euid,),
        remediation=Remediation(hint="Run the assessment and the migration as root.",
                                commands=(("sudo", "migrate", "assess"),)),
    )]


CHECK = Check(
    id="system.apply_user",
    title="The migration can be applied as this user",
    category="system",
    run=run,
    description=__doc__,
)
