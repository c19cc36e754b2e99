"""Detects distribution packages installed in a newer version than the target's
repositories have (a distro-sync would downgrade them).

Why it matters on the target: the swap ends with `dnf distro-sync`, which
moves every package to the version the enabled repositories offer - down as
well as up. A CentOS package newer than the target's (from CentOS Stream, a
later CentOS update, a hand-installed .rpm) is downgraded: its fixes are lost,
and data or configuration written by the newer version may not be readable by
the older one. Versions are compared exactly as rpm does (epoch, then
version, then release, rpmvercmp segment by segment:
migrate.collector.labelcompare), against the newest build of that name for
the package's architecture or noarch.

Only a same-major swap distro-syncs (on a cross-major path every package is
replaced: the check does not apply). Not compared: packages not from the
source distribution (their own repositories stay enabled and keep offering
their version), installonly kernel packages (dnf installs the target's next
to them instead of downgrading), 32-bit multilib packages
(packages.multilib), and the release packages the swap replaces.

Facts: packages (name, epoch, version, release, arch, vendor), os.os_release
and os.release_files (source major, via migrate.source). Manifest keys:
packages (repodata snapshot), el_major, release_swap.remove, name.
"""
from __future__ import annotations

from typing import List

from migrate.checks.packages_multilib import secondary_arches
from migrate.checks.packages_provenance import from_source_vendor, real_packages
from migrate.collector import labelcompare
from migrate.engine import Check, MissingFacts, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

INSTALLONLY = frozenset((
    "kernel", "kernel-core", "kernel-modules", "kernel-modules-extra", "kernel-devel",
    "kernel-debug", "kernel-debug-core", "kernel-debug-modules", "kernel-debug-modules-extra",
    "kernel-debug-devel", "kernel-rt", "kernel-rt-core", "kernel-rt-modules", "kernel-rt-devel",
    "kernel-uek", "kernel-uek-core", "kernel-uek-modules", "kernel-uek-devel", "kernel-PAE"))


def _evr(evr) -> str:
    epoch, version, release = evr
    return "%s%s-%s" % ("%s:" % epoch if epoch else "", version, release)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    target = manifest.packages
    if target is None:
        raise MissingFacts("downgrades not assessed: no repository metadata of %s "
                           "(give --target-repo URL|DIR|SNAPSHOT)" % manifest.name)
    source = identify_source(facts)
    if source is None or source.major is None:
        raise MissingFacts("the source release is not known (no readable release file), so whether "
                           "a distro-sync will run cannot be decided")
    if manifest.el_major is None or source.major != manifest.el_major:
        raise NotApplicable("%s -> %s is not a same-major swap: no distro-sync of these packages"
                            % (source.label, manifest.name))
    swapped = set(manifest.release_swap.get("remove") or ())
    secondary = secondary_arches(facts.os.arch or "")
    newer = []
    for pkg in real_packages(facts):
        if (not from_source_vendor(pkg) or pkg.name in INSTALLONLY or pkg.name in swapped
                or pkg.arch in secondary):
            continue
        arch = pkg.arch or "noarch"
        candidates = [p for p in target.by_name(pkg.name)
                      if p.arch not in ("src", "nosrc") and (arch == "noarch" or p.arch in (arch, "noarch"))]
        if not candidates:
            continue   # not in the target at all: packages.target_availability
        best = candidates[0]
        for cand in candidates[1:]:
            if labelcompare(cand.evr, best.evr) > 0:
                best = cand
        installed = (pkg.epoch or 0, pkg.version, pkg.release)
        if labelcompare(installed, best.evr) > 0:
            newer.append((pkg, best))
    if not newer:
        return []
    names = tuple(sorted({pkg.name for pkg, _ in newer}))
    detail = "; ".join("%s %s > %s %s" % (pkg.name, _evr((pkg.epoch, pkg.version, pkg.release)),
                                          manifest.name, _evr(best.evr))
                       for pkg, best in sorted(newer, key=lambda item: item[0].name)[:15])
    return [Finding(
        id="packages.newer_than_target", severity="warning", overridable=True,
        title="%d installed package(s) are newer than %s's: distro-sync would downgrade them"
              % (len(names), manifest.name),
        summary="%s%s. The swap's distro-sync downgrades them to %s's version: fixes in the newer "
                "version are lost, and data or configuration it wrote may not work with the older one."
                % (detail, " (and %d more)" % (len(newer) - 15) if len(newer) > 15 else "", manifest.name),
        subjects=names,
        remediation=Remediation(
            hint="Check why each is newer (CentOS Stream, a hand-installed update) and whether the "
                 "downgrade is acceptable; to keep them at their version, exclude them from the "
                 "distro-sync (second command) and update them when %s catches up." % manifest.name,
            commands=(("rpm", "-q", "--last") + names[:30],
                      ("dnf", "distro-sync", "--exclude=" + ",".join(names)))),
    )]


CHECK = Check(
    id="packages.downgrades",
    title="No distribution package is newer than the target's",
    category="packages",
    run=run,
    requires=("packages",),
    description=__doc__,
)
