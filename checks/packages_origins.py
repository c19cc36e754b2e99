"""Detects packages installed from a repository that is no longer configured.

Why it matters on the target: dnf (history database) and yum (yumdb) record
the repository each package was installed from. When that repository's .repo
file is gone, the package gets no updates now, nothing offers it to the
target, and `dnf distro-sync --allowerasing` may remove it if its
dependencies change; after the migration nobody knows where to get it again.

Only packages that are not from the source distribution are reported: the
swap replaces CentOS packages from the target's repositories whatever CentOS
repository they came from (CentOS 8.3 also renamed its repo ids, e.g.
AppStream -> appstream; ids are therefore compared case-insensitively). Origins
that are not repositories are ignored: "@System" (installed before dnf kept
history), "anaconda" and "koji-override-N" (the installer, image builds),
"@commandline" and yum's paths (local .rpm files), "installed".

The package-origin probe is optional: a host without dnf history or yumdb
(status absent) records no origins, so the check does not apply; a probe
that failed leaves it skipped (unknown, never "no").

Facts: packages (nevra, name, vendor), pkgmgr.origins (NEVRA -> repo id),
repos (ids of every configured repository, enabled or not).
Manifest keys: name.
"""
from __future__ import annotations

from typing import Dict, List

from migrate.checks.packages_provenance import from_source_vendor, real_packages
from migrate.engine import Check, MissingFacts, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

NOT_REPOSITORIES = {"@system", "system", "anaconda", "@anaconda", "@commandline", "commandline", "installed"}


def not_a_repository(origin: str) -> bool:
    lowered = origin.strip().lower()
    return (lowered in NOT_REPOSITORIES or lowered.startswith(("koji-override-", "@koji-override-", "/"))
            or not lowered)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    origins_probe = facts.probe("pkgmgr.origins")
    if origins_probe.status == "absent":
        raise NotApplicable("no dnf history or yumdb on this host: package origins are not recorded (%s)"
                            % (origins_probe.message or "absent"))
    if origins_probe.status != "ok" or facts.pkgmgr.origins is None:
        raise MissingFacts("needs pkgmgr.origins, which is %s%s" % (
            origins_probe.status, ": " + origins_probe.message if origins_probe.message else ""))
    repos_probe = facts.probe("repos")
    if repos_probe.status not in ("ok", "absent"):
        raise MissingFacts("needs repos, which is %s%s: a repository missing from the facts may still "
                           "be configured" % (repos_probe.status,
                                              ": " + repos_probe.message if repos_probe.message else ""))
    configured = {r.id.lower() for r in facts.repos.repos}
    orphans: Dict[str, List[str]] = {}
    for pkg in real_packages(facts):
        origin = facts.pkgmgr.origins.get(pkg.nevra)
        if origin is None or not_a_repository(origin) or from_source_vendor(pkg):
            continue
        if origin.lower() not in configured:
            orphans.setdefault(origin, []).append(pkg.name)
    if not orphans:
        return []
    names = tuple(sorted({n for pkgs in orphans.values() for n in pkgs}))
    repo_ids = sorted(orphans)
    return [Finding(
        id="packages.from_unconfigured_repo", severity="warning", overridable=True,
        title="%d package(s) came from repositories that are no longer configured" % len(names),
        summary="%s (recorded in %s). No .repo file defines these repositories any more: the packages "
                "get no updates, nothing offers them on %s, and a distro-sync that changes their "
                "dependencies may remove them."
                % ("; ".join("repo %s: %s" % (repo, ", ".join(sorted(orphans[repo]))) for repo in repo_ids),
                   facts.pkgmgr.origins_source or "the package manager's records", manifest.name),
        subjects=names,
        remediation=Remediation(
            hint="Restore the repository definition (pointing at builds for %s) if the packages are "
                 "still maintained there, or find a new source or remove them before the migration."
                 % manifest.name,
            commands=(("dnf", "list", "installed") + names[:30],)),
    )]


CHECK = Check(
    id="packages.origins",
    title="Packages come from repositories that are still configured",
    category="packages",
    run=run,
    requires=("packages",),
    description=__doc__,
)
