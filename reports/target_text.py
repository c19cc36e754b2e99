"""`migrate targets show ID`: everything a target manifest knows, each fact with its evidence."""
from __future__ import annotations

import textwrap
from typing import Any, Dict, List

from migrate.manifests import Manifest


def _wrap(text: str, indent: str) -> List[str]:
    return textwrap.wrap(" ".join(str(text).split()), width=100, initial_indent=indent,
                         subsequent_indent=indent) or [indent]


def derived_facts(manifest: Manifest) -> Dict[str, Any]:
    """Figures computed from the data files a manifest references."""
    from migrate.manifests.leappdata import (drivers_removed_in, load_driver_data, load_pes_events,
                                             pes_summary)
    out: Dict[str, Any] = {}
    pes = manifest.package_mappings.get("pes")
    if pes:
        events = load_pes_events(manifest.data_file(pes["dataset"]))
        applying = [e for e in events if e.from_release and e.from_release[0] == pes["from_major"]
                    and e.to_release[0] == pes["to_major"]]
        out["pes"] = dict(pes_summary(events), applying_events=len(applying))
    drivers = manifest.removed_drivers
    if drivers:
        devices = load_driver_data(manifest.data_file(drivers["dataset"]))
        out["removed_drivers"] = {"entries": len(devices),
                                  "whole_drivers_removed": len(drivers_removed_in(devices, drivers["el_major"]))}
    return out


def render_target(manifest: Manifest) -> str:
    lines: List[str] = []
    add = lines.append
    el = "EL%d" % manifest.el_major if manifest.el_major else "not an EL rebuild"
    add("%s  %s (version %s, family %s, %s)" % (manifest.id, manifest.name, manifest.version,
                                                manifest.family, el))
    raw = manifest.raw
    add("architectures: %s" % ", ".join(manifest.architectures))
    lines += _wrap("evidence: " + raw["architectures_evidence"], "    ")
    osr = manifest.os_release
    add("os-release: ID=%s VERSION_ID=%s.* ID_LIKE=%s PLATFORM_ID=%s" % (
        osr["ID"], osr["VERSION_ID_major"], osr.get("ID_LIKE"), osr.get("PLATFORM_ID")))
    lines += _wrap("evidence: " + osr["evidence"], "    ")
    add("migration paths:")
    for path in manifest.migration_paths:
        add("  from %s-%s %d: %s" % (path.source.distro, path.source.variant, path.source.major, path.kind))
        lines += _wrap(path.way_forward, "      ")
        lines += _wrap("evidence: " + path.evidence, "      ")
    swap = manifest.release_swap
    def names(value: Any) -> str:
        return "unknown" if value is None else ", ".join(value) or "-"
    add("release swap: remove %s; install %s" % (names(swap["remove"]), names(swap["install"])))
    lines += _wrap("evidence: " + swap["evidence"], "    ")
    add("repositories:")
    for repo in manifest.repos:
        state = {True: "", False: " (disabled)", None: " (enabled state unknown)"}[repo.enabled]
        add("  %-16s %s%s" % (repo.id, repo.baseurl, state))
    lines += _wrap("evidence: " + raw["repos"]["evidence"], "    ")
    add("gpg keys:")
    for key in manifest.gpg_keys:
        add("  %s fingerprint %s" % (key["file"], key["fingerprint"] or "unknown"))
        lines += _wrap("evidence: " + key["evidence"], "      ")
    add("kernel (default flavour %s):" % manifest.default_flavour)
    for flavour in manifest.kernel_flavours:
        add("  %s: %s, version %s, package %s%s" % (
            flavour.id, flavour.name, flavour.version or "unknown", flavour.package or "unknown",
            ", e.g. " + flavour.release_example if flavour.release_example else ""))
        lines += _wrap("evidence: " + flavour.evidence, "      ")
        if flavour.config:
            add("      config: %s (%s, %s)" % (flavour.config.file, flavour.config.kind, flavour.config.arch))
            lines += _wrap("caveats: " + flavour.config.caveats, "        ")
            lines += _wrap("evidence: " + flavour.config.evidence, "        ")
        else:
            add("      config: none available (kernel options are unknown)")
    add("crypto (SM2/SM3/SM4):")
    for layer, facts in manifest.crypto.items():
        values = ", ".join("%s=%s" % (k, v) for k, v in facts.items() if k != "evidence")
        add("  %s: %s" % (layer, values))
        lines += _wrap("evidence: " + facts["evidence"], "      ")
    mappings = manifest.package_mappings
    derived = derived_facts(manifest)
    pes = mappings.get("pes")
    if pes:
        add("package mappings: PES events %s, EL%d -> EL%d: %d of %d events apply" % (
            pes["dataset"], pes["from_major"], pes["to_major"], derived["pes"]["applying_events"],
            derived["pes"]["events"]))
        lines += _wrap("evidence: " + pes["evidence"], "    ")
    else:
        add("package mappings: no PES events apply")
    for swap_item in mappings.get("swaps") or ():
        add("  %s: %s -> %s" % (swap_item["action"], ", ".join(swap_item["in"]), ", ".join(swap_item["out"]) or "-"))
        lines += _wrap("evidence: " + swap_item["evidence"], "      ")
    drivers = manifest.removed_drivers
    if drivers:
        add("removed drivers: %s for EL%d: %d whole drivers no longer shipped (%d entries)" % (
            drivers["dataset"], drivers["el_major"], derived["removed_drivers"]["whole_drivers_removed"],
            derived["removed_drivers"]["entries"]))
        lines += _wrap("evidence: " + drivers["evidence"], "    ")
    else:
        add("removed drivers: no driver data applies")
    add("manifest file: %s" % manifest.path)
    return "\n".join(lines) + "\n"
