"""Detects a host that is not a CentOS release migrate can move.

Why it matters: every migration path starts from CentOS Linux 7.x, CentOS Linux
8.x or CentOS Stream 8. Anything else (a host already on the target, RHEL, a
CentOS Stream 9, an unreadable release file) must not be repo-swapped.
It also warns when a CentOS Linux host is not on the final minor release
(7.9 / 8.5): the target's packages are built against the final content, and a
swap from an older minor pulls in far more change than planned.

Facts: os.os_release, os.release_files (through migrate.source.identify_source).
Manifest keys: none.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

FINAL_MINOR = {7: 9, 8: 5}


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    probes = [facts.probe("os.os_release"), facts.probe("os.release_files")]
    source = identify_source(facts)
    if source is None:
        failed = [p for p in probes if p.failed]
        if failed:
            # Could not read the release files: unknown, never "unsupported".
            raise MissingFacts("release files could not be read: " +
                               "; ".join(p.message for p in failed))
        return [Finding(
            id="system.source_unrecognised", severity="blocker",
            title="The host's distribution cannot be identified",
            summary="Neither /etc/os-release nor a release file in /etc identifies the "
                    "distribution, so no migration path can be chosen.",
            remediation=Remediation(hint="Restore /etc/os-release from the release package "
                                         "(centos-release on CentOS 7, centos-linux-release on 8).",
                                    commands=(("rpm", "-qf", "/etc/os-release"),
                                              ("rpm", "-V", "centos-release"))),
        )]
    if not source.supported:
        return [Finding(
            id="system.source_unsupported", severity="blocker",
            title="%s is not a supported migration source" % source.pretty,
            summary="migrate moves CentOS Linux 7, CentOS Linux 8 and CentOS Stream 8 hosts. "
                    "This host runs %s (from %s)." % (source.pretty, ", ".join(source.evidence)),
            subjects=(source.pretty,),
            remediation=Remediation(
                hint="Nothing to migrate with a CentOS repo swap: this host is not CentOS 7/8 "
                     "or Stream 8. Check the release files if that is wrong.",
                commands=(("cat", "/etc/os-release"), ("rpm", "-qf", "/etc/os-release"))),
        )]
    findings = []
    final = FINAL_MINOR.get(source.major)
    if source.variant == "linux" and source.minor is not None and final is not None \
            and source.minor < final:
        findings.append(Finding(
            id="system.source_not_final_minor", severity="warning", overridable=True,
            title="%s is not on the final minor release %d.%d" % (source.label, source.major, final),
            summary="The target's packages match the final CentOS %d.%d content. Updating first "
                    "keeps the swap to a small, predictable set of changes." % (source.major, final),
            subjects=(source.label,),
            remediation=Remediation(
                hint="CentOS %d is end-of-life: point the repositories at vault.centos.org "
                     "(%d.%d) before updating." % (source.major, source.major, final),
                commands=(("yum", "-y", "update") if source.major == 7 else
                          ("dnf", "-y", "distro-sync"),)),
        ))
    return findings


CHECK = Check(
    id="system.source_supported",
    title="Source distribution is a supported CentOS release",
    category="system",
    run=run,
    description=__doc__,
)
