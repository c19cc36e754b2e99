"""Detects 32-bit (multilib) packages that the target's repositories do not ship for
that architecture.

Why it matters on the target: a multilib pair (glibc.x86_64 + glibc.i686)
must have the same version, since both own the same shared files. distro-sync
moves the 64-bit half to the target's build; when the target has no build of
the 32-bit half, the old one stays behind at the old version, the pair
conflicts, and the transaction fails - or `--allowerasing` removes the 32-bit
package and the 32-bit programs that need it stop working.

The lookup is by architecture: a package name the target has only as x86_64
does not help an i686 package (by name, then by what the target's packages of
that architecture, or noarch, provide). Needs the target's repository metadata
(--target-repo); without it the check is skipped.

Facts: packages (name, arch, vendor), os.arch. Manifest keys: packages
(repodata snapshot), release_swap.remove, name.
"""
from __future__ import annotations

from typing import FrozenSet, List

from migrate.checks.packages_provenance import real_packages
from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

_SECONDARY = {
    "x86_64": frozenset(("i386", "i486", "i586", "i686", "athlon", "geode")),
    "ppc64": frozenset(("ppc",)),
    "s390x": frozenset(("s390",)),
}


def secondary_arches(host_arch: str) -> FrozenSet[str]:
    """The 32-bit architectures a host of `host_arch` installs next to its own (multilib)."""
    return _SECONDARY.get(host_arch or "", frozenset())


def target_has(target, name: str, arch: str) -> bool:
    """Whether the target offers `name` for `arch` (or noarch), by name then by provides."""
    if any(p.arch in (arch, "noarch") for p in target.by_name(name)):
        return True
    return any(p.arch in (arch, "noarch") for p in target.providers(name))


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    target = manifest.packages
    if target is None:
        raise MissingFacts("multilib availability not assessed: no repository metadata of %s "
                           "(give --target-repo URL|DIR|SNAPSHOT)" % manifest.name)
    secondary = secondary_arches(facts.os.arch or "")
    swapped = set(manifest.release_swap.get("remove") or ())
    missing = sorted({"%s.%s" % (p.name, p.arch) for p in real_packages(facts)
                      if p.arch in secondary and p.name not in swapped
                      and not target_has(target, p.name, p.arch)})
    if not missing:
        return []
    return [Finding(
        id="packages.multilib_unavailable", severity="warning", overridable=True,
        title="%d 32-bit package(s) have no build in the %s repositories" % (len(missing), manifest.name),
        summary="%s: %s has no build of these for their architecture. distro-sync would leave them at "
                "the old version next to a newer 64-bit counterpart (a conflict that fails the "
                "transaction) or remove them with --allowerasing."
                % (", ".join(missing), manifest.packages_source or "the target repositories"),
        subjects=tuple(missing),
        remediation=Remediation(
            hint="Find which 32-bit programs need them (the first command). If none does, remove them "
                 "before the migration (the second); otherwise get 32-bit builds for %s first."
                 % manifest.name,
            commands=(("dnf", "repoquery", "--installed", "--whatrequires") + tuple(missing),
                      ("dnf", "remove") + tuple(missing))),
    )]


CHECK = Check(
    id="packages.multilib",
    title="32-bit (multilib) packages exist in the target repositories",
    category="packages",
    run=run,
    requires=("packages", "os.arch"),
    description=__doc__,
)
