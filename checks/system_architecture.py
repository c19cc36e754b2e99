"""Detects a host architecture the target distribution does not build for.

Why it matters: a repo swap replaces every package with the target's build of
it; when the target has no repositories for the host's architecture (for
example ppc64le or s390x for OpenCloudOS 8, i686 anywhere) there is nothing to
swap to, and the host needs a reinstall on a supported platform or another
target.

Facts: os.arch (from uname on a live host; from the kernel package or ELF
headers in an offline root).
Manifest keys: architectures, name.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    arch = facts.os.arch
    if not arch:
        raise MissingFacts("the host's architecture is not known")
    if arch in manifest.architectures:
        return []
    return [Finding(
        id="system.architecture_unsupported", severity="blocker", overridable=False,
        title="%s is not built for %s" % (manifest.name, arch),
        summary="The host runs on %s; %s publishes packages for %s only, so there is nothing to "
                "swap this host's packages to." % (arch, manifest.name, ", ".join(manifest.architectures)),
        subjects=(arch,),
        remediation=Remediation(
            hint="Choose a target that supports %s, or reinstall the workload on a supported "
                 "architecture and migrate the data." % arch,
            commands=(("uname", "-m"),)),
    )]


CHECK = Check(
    id="system.architecture",
    title="The target distribution supports the host's architecture",
    category="system",
    run=run,
    requires=("os.arch",),
    description=__doc__,
)
