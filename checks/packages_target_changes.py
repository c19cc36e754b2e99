"""Detects installed packages that the target renamed, split, merged, replaced,
deprecated or removed.

Why it matters on the target: the swap and distro-sync work by package name.
A package the target replaced (centos-linux-release -> opencloudos-release,
a library split in two) is swapped for another, whose files and behaviour
differ; a package the target removed is left unmaintained or taken away with
`--allowerasing`, together with what depends on it.

Two sources, both from the manifest: package_mappings.swaps, the target's own
renames and removals, always apply; Leapp PES events (package_mappings.pes,
e.g. CentOS 7 -> 8) apply only when the host's major release is the events'
from_major and the target's EL major is their to_major (a CentOS 7 host
assessed against an EL8 target), and only events of that major step are
used. A package that both sources name is reported once, by the target's own mapping.
Removals that the release swap itself performs (release_swap.remove: the
CentOS release, repo and key packages) are reported with the replacements.
PES events limited to some architectures apply only to those.

The PES data set is shipped with the manifests and read on first use (the
manifest's own data, never the host's files).

Facts: packages (name, arch), os.arch, os.os_release and os.release_files
(source major, via migrate.source; only needed when PES events exist).
Manifest keys: package_mappings.swaps, package_mappings.pes (dataset,
from_major, to_major), el_major, release_swap.remove.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from migrate.checks.packages_provenance import real_packages
from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

REPLACING = ("replaced", "renamed", "split", "merged")
def _mappings(facts: Facts, manifest: Manifest) -> List[Tuple[str, Tuple[str, ...], Tuple[str, ...], str]]:
    """(action, in, out, where) of every mapping that applies, the manifest's swaps first."""
    out = [(swap["action"], tuple(swap["in"]), tuple(swap["out"]), "%s package mapping" % manifest.name)
           for swap in manifest.package_mappings.get("swaps") or ()]
    pes = manifest.package_mappings.get("pes")
    if pes:
        source = identify_source(facts)
        if source is None or source.major is None:
            raise MissingFacts("the source release is not known (no readable release file): whether "
                               "the %d->%d PES events apply cannot be decided"
                               % (pes["from_major"], pes["to_major"]))
        if source.major == pes["from_major"] and manifest.el_major == pes["to_major"]:
            arch = facts.os.arch
            for event in manifest.pes_events:
                if (event.from_release is None or event.from_release[0] != pes["from_major"]
                        or event.to_release[0] != pes["to_major"]):
                    continue
                if event.action not in REPLACING + ("removed", "deprecated"):
                    continue   # present, moved: no change of package name
                if event.architectures and arch and arch not in event.architectures:
                    continue
                out.append((event.action, event.in_packages, event.out_packages, "PES event %d" % event.id))
    return out


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    installed = {p.name for p in real_packages(facts)}
    swapped = set(manifest.release_swap.get("remove") or ())
    claimed = set()
    groups: Dict[str, List[str]] = {"replaced": [], "removed": [], "deprecated": []}
    subjects: Dict[str, set] = {"replaced": set(), "removed": set(), "deprecated": set()}
    for action, ins, outs, where in _mappings(facts, manifest):
        present = sorted(set(ins) & installed - claimed)
        if not present:
            continue
        claimed.update(present)
        if action in REPLACING:
            group = "replaced"
            line = "%s -> %s (%s, %s)" % (", ".join(present), ", ".join(outs) or "nothing", action, where)
        elif action == "removed" and set(present) <= swapped:
            group = "replaced"
            line = "%s -> the release packages of %s (removed by the release swap, %s)" % (
                ", ".join(present), manifest.name, where)
        elif action == "removed":
            group = "removed"
            line = "%s (%s)" % (", ".join(present), where)
        else:
            group = "deprecated"
            line = "%s (%s)" % (", ".join(present), where)
        groups[group].append(line)
        subjects[group].update(present)
    findings = []
    if groups["replaced"]:
        findings.append(Finding(
            id="packages.replaced_in_target", severity="info",
            title="%d installed package(s) are replaced by other packages on %s"
                  % (len(subjects["replaced"]), manifest.name),
            summary="%s. The swap and distro-sync install the new names in their place; check "
                    "configuration and scripts that refer to the old names."
                    % "; ".join(groups["replaced"][:40]),
            subjects=tuple(sorted(subjects["replaced"])),
            remediation=Remediation(hint="Nothing to run before the swap; review the new packages' "
                                         "configuration afterwards.")))
    if groups["removed"]:
        names = tuple(sorted(subjects["removed"]))
        findings.append(Finding(
            id="packages.removed_in_target", severity="warning", overridable=True,
            title="%d installed package(s) no longer exist on %s" % (len(names), manifest.name),
            summary="%s. They stay installed without updates after the swap, or distro-sync "
                    "--allowerasing removes them with whatever depends on them."
                    % "; ".join(groups["removed"][:40]),
            subjects=names,
            remediation=Remediation(
                hint="Find what needs them and replace that functionality, or remove them before the "
                     "migration.",
                commands=(("rpm", "-q", "--whatrequires") + names[:30],))))
    if groups["deprecated"]:
        findings.append(Finding(
            id="packages.deprecated_in_target", severity="info",
            title="%d installed package(s) are deprecated on %s" % (len(subjects["deprecated"]), manifest.name),
            summary="%s. They still exist but may be dropped in a later release."
                    % "; ".join(groups["deprecated"][:40]),
            subjects=tuple(sorted(subjects["deprecated"]))))
    return findings


CHECK = Check(
    id="packages.target_changes",
    title="Installed packages the target renamed, replaced or removed",
    category="packages",
    run=run,
    requires=("packages",),
    description=__doc__,
)
