"""Detects installed distribution packages that the target's repositories do not carry.

Why it matters: a repo swap ends with `dnf distro-sync`; a package the target
does not ship stays installed from the old distribution, unmaintained, or is
removed by `--allowerasing` together with what depends on it. Only the
target's real repo metadata can tell (given with --target-repo as a repo URL,
a local mirror or a snapshot from `migrate manifest build`): without it the
check is skipped and the assessment is incomplete.

A package counts as available when the target has a package of that name, or a
package that provides the name (renames are usually carried as provides).
Release and branding packages that the swap replaces are not reported.
Third-party packages (not from the source distribution) come from their own
repositories and are the repository checks' concern.

Facts: packages (name, vendor). Manifest keys: packages (repodata snapshot),
release_swap.remove.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

SOURCE_VENDORS = ("CentOS",)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    target = manifest.packages
    if target is None:
        raise MissingFacts("package availability not assessed: no repository metadata of %s "
                           "(give --target-repo URL|DIR|SNAPSHOT)" % manifest.name)
    swapped = set(manifest.release_swap["remove"] or ())
    missing = []
    for pkg in facts.packages or ():
        if pkg.name == "gpg-pubkey" or pkg.name in swapped or pkg.vendor not in SOURCE_VENDORS:
            continue
        if pkg.name in target or target.providers(pkg.name):
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
            hint="Check whether each is still needed; remove it or find it in another "
                 "repository (EPEL, the vendor) before the swap.",
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
