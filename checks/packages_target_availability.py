"""Detects installed distribution packages that the target's repositories do not carry.

Why it matters: a repo swap ends with `dnf distro-sync`; a package the target
does not ship stays installed from the old distribution, unmaintained, or is
removed by `--allowerasing` together with what depends on it. Only the
target's real repo metadata can tell (given with --target-repo as a repo URL,
a local mirror or a snapshot from `migrate manifest build`): without it the
check is skipped and the assessment is incomplete.

A package counts as available when the target has a package of that name for
its architecture (or noarch), or else a package of that architecture (or
noarch) that provides the name (renames are usually carried as provides).
Not reported here: release and branding packages that the swap replaces
(release_swap.remove) and packages the manifest maps to something else
(package_mappings.swaps: packages.target_changes reports those), 32-bit
multilib packages (packages.multilib), and packages not from the source
distribution (vendor not CentOS), which come from their own repositories
(packages.provenance, repos.classification).

Facts: packages (name, arch, vendor), os.arch. Manifest keys: packages
(repodata snapshot), release_swap.remove, package_mappings.swaps[].in, name.
"""
from __future__ import annotations

from typing import List

from migrate.checks.packages_multilib import secondary_arches, target_has
from migrate.checks.packages_provenance import SOURCE_VENDORS, from_source_vendor, real_packages
from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    target = manifest.packages
    if target is None:
        raise MissingFacts("package availability not assessed: no repository metadata of %s "
                           "(give --target-repo URL|DIR|SNAPSHOT)" % manifest.name)
    skipped = set(manifest.release_swap.get("remove") or ())
    for swap in manifest.package_mappings.get("swaps") or ():
        skipped.update(swap["in"])
    secondary = secondary_arches(facts.os.arch or "")
    missing = []
    for pkg in real_packages(facts):
        if pkg.name in skipped or not from_source_vendor(pkg) or pkg.arch in secondary:
            continue
        arch = pkg.arch or "noarch"
        if arch == "noarch":
            if pkg.name in target or target.providers(pkg.name):
                continue
        elif target_has(target, pkg.name, arch):
            continue
        missing.append(pkg)
    if not missing:
        return []
    names = sorted({p.name for p in missing})
    return [Finding(
        id="packages.unavailable_in_target", severity="warning", overridable=True,
        title="%d installed package(s) are not in the %s repositories" % (len(names), manifest.name),
        summary="These %s packages have no package of the same name, and no package providing "
                "that name, in %s. After the swap they stay installed from %s without updates, or "
                "`dnf distro-sync --allowerasing` removes them with what depends on them."
                % (", ".join(SOURCE_VENDORS), manifest.packages_source or "the target repositories",
                   ", ".join(SOURCE_VENDORS)),
        subjects=tuple(names),
        remediation=Remediation(
            hint="Check whether each is still needed (the command lists what requires them); remove "
                 "it or find it in another repository (EPEL, the vendor) before the swap.",
            commands=(("rpm", "-q", "--whatrequires") + tuple(names[:20]),)),
    )]


CHECK = Check(
    id="packages.target_availability",
    title="Installed distribution packages exist in the target repositories",
    category="packages",
    run=run,
    requires=("packages",),
    description=__doc__,
)
