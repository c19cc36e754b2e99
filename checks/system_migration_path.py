"""Detects a source/target pair that a repo swap cannot migrate.

Why it matters: swapping repositories and release packages only works within one
EL major release (CentOS 8 -> OpenCloudOS 8, Anolis 8, TencentOS 3; CentOS 7 ->
Anolis 7). A cross-major target (CentOS 7 -> OpenCloudOS 8), an independently
built distribution (OpenCloudOS 9, Anolis 23) or a downgrade (CentOS 8 ->
Anolis 7) needs another way forward, which the finding spells out.

Facts: os.os_release, os.release_files (through migrate.source.identify_source).
Manifest keys: id, name, migration_paths[].from/kind/way_forward/evidence.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

TITLES = {
    "cross_major": "%s -> %s crosses an EL major release: a repo swap cannot do it",
    "independent_distribution": "%s is an independent distribution: no in-place path from %s",
    "downgrade": "%s -> %s would go back a major release",
}


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    source = identify_source(facts)
    if source is None or not source.supported:
        raise NotApplicable("source is not a supported CentOS release (see system.source_supported)")
    path = manifest.path_from(source.distro, source.variant, source.major)
    pair = "%s -> %s" % (source.label, manifest.name)
    if path is None:
        return [Finding(
            id="system.migration_path_unknown", severity="blocker",
            title="No migration path from %s to %s" % (source.label, manifest.name),
            summary="The %s manifest lists no path from %s." % (manifest.id, source.label),
            subjects=(pair,),
            remediation=Remediation(hint="Choose a target with a repo-swap path from this source.",
                                    commands=(("migrate", "targets", "list"),)),
        )]
    if path.kind == "repo_swap":
        return [Finding(
            id="system.migration_repo_swap", severity="info",
            title="%s is a same-major repo swap" % pair,
            summary=path.way_forward, subjects=(pair,),
        )]
    if path.kind == "independent_distribution":
        title = TITLES[path.kind] % (manifest.name, source.label)
    else:
        title = TITLES[path.kind] % (source.label, manifest.name)
    return [Finding(
        id="system.migration_%s" % path.kind, severity="blocker", overridable=False,
        title=title, summary="%s (Evidence: %s)" % (path.way_forward, path.evidence),
        subjects=(pair,),
        remediation=Remediation(hint=path.way_forward, commands=(("migrate", "targets", "list"),)),
    )]


CHECK = Check(
    id="system.migration_path",
    title="A repo-swap migration path exists from the source to the target",
    category="system",
    run=run,
    description=__doc__,
)
