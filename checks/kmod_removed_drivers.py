"""Detects loaded drivers that the target's EL family removed.

Why it matters: RHEL 8 dropped whole drivers that CentOS 7 loaded (floppy,
pata_acpi, sata_mv, mptctl, ...); a host still using one
loses that device after the reboot into the target kernel, and a storage
controller driver means no root file system. The data is the Leapp
device-driver deprecation dataset the manifest references
(removed_drivers.dataset and el_major); leappdata.drivers_removed_in keeps
its entries without device ids, which name whole drivers and can be matched
to loaded module names. Entries with PCI device ids remove support for single
devices of drivers that stay (megaraid_sas, mlx4_core, qla2xxx, ...): the
collector does not gather PCI ids, so for those loaded drivers the check can
only say that it could not assess them. The dataset describes the RHEL kernel
of that major; when the target's repodata shows its kernel ships the module
anyway, the finding says so instead of blocking.

Facts: kmods.loaded (name, refcount, used_by).
Manifest keys: removed_drivers (dataset, el_major, evidence),
driver_deprecations (the dataset, package data read once by the manifest),
packages (repodata snapshot: kernel module files).
"""
from __future__ import annotations

import re
from typing import Dict, List, Set

from migrate.engine import Check, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.manifests.leappdata import drivers_removed_in

from ._kmod_target import normalise, target_kernel


def _driver_names(text: str) -> Set[str]:
    """Module names in a dataset driver_name ("mpt2sas (mpt3sas)" names both)."""
    return {normalise(token) for token in re.findall(r"[A-Za-z0-9_-]+", text or "")}


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    data = manifest.removed_drivers
    if not data:
        raise NotApplicable("the %s manifest has no device-driver removal data (removed_drivers is "
                            "null; see `migrate targets show %s`)" % (manifest.id, manifest.id))
    devices = manifest.driver_deprecations
    el_major = data["el_major"]
    removed = drivers_removed_in(list(devices), el_major)
    partly: Dict[str, Set[str]] = {}
    for device in devices:
        if device.device_id and device.driver_name and el_major not in device.available_in:
            for name in _driver_names(device.driver_name):
                partly.setdefault(name, set()).add(device.device_id)
    loaded = {normalise(m.name): m for m in facts.kmods.loaded or ()}
    tk = target_kernel(facts, manifest)
    source = "Leapp device-driver deprecation data %s (EL%d), referenced by the %s manifest" % (
        data["dataset"], el_major, manifest.id)

    blocked, contradicted = [], []
    for name in sorted(set(loaded) & set(removed)):
        if tk.modules is not None and name in tk.modules:
            contradicted.append(name)
        else:
            blocked.append(name)
    findings = []

    def usage(name: str) -> str:
        module = loaded[name]
        users = ", ".join(module.used_by) or "no other module"
        return "%s (refcount %s, used by %s; %s)" % (name, module.refcount, users,
                                                    removed[name].device_name or removed[name].device_type)

    if blocked:
        findings.append(Finding(
            id="kmod.driver_removed_in_target", severity="blocker", overridable=True,
            title="%d loaded driver(s) were removed in EL%d" % (len(blocked), el_major),
            summary="These drivers are loaded now and the EL%d kernel no longer ships them: the "
                    "devices they drive are gone after the reboot into the %s kernel. %s. Source: "
                    "%s, whose whole-driver entries (no device id) are matched to module names; it "
                    "describes the RHEL-compatible kernel of that major (the manifest's evidence says "
                    "how far it applies to %s)%s."
                    % (el_major, manifest.name, "; ".join(usage(n) for n in blocked), source,
                       tk.flavour_name,
                       "" if tk.modules is None else "; the target's kernel packages (%s) have no "
                       "file for them either" % tk.packages_source),
            subjects=tuple(blocked),
            remediation=Remediation(
                hint="A driver loaded but unused (refcount 0, e.g. floppy on a VM) can be unloaded "
                     "and blacklisted; one that drives real hardware needs a replacement device or "
                     "a vendor driver for the target kernel.",
                commands=tuple(("modprobe", "-r", n) for n in blocked) + (("lspci", "-k"),)),
        ))
    if contradicted:
        findings.append(Finding(
            id="kmod.driver_removed_but_shipped", severity="info",
            title="%d loaded driver(s) listed as removed in EL%d are in the %s kernel packages"
                  % (len(contradicted), el_major, manifest.name),
            summary="%s lists these as removed, but the target's kernel packages (%s) ship them: %s."
                    % (source, tk.packages_source,
                       "; ".join("%s in %s" % (n, ", ".join(tk.modules[n])) for n in contradicted)),
            subjects=tuple(contradicted),
        ))
    unassessed = sorted(set(loaded) & set(partly))
    if unassessed:
        findings.append(Finding(
            id="kmod.driver_devices_unassessed", severity="info",
            title="Device support removed from %d loaded driver(s) could not be assessed" % len(unassessed),
            summary="EL%d keeps these drivers but removed support for some of their devices (%s). "
                    "Matching needs the host's PCI vendor:device ids, which are not collected."
                    % (el_major, "; ".join("%s: %d device ids" % (n, len(partly[n])) for n in unassessed)),
            subjects=tuple(unassessed),
            remediation=Remediation(
                hint="Compare `lspci -nn` with the device ids in `migrate targets show %s`." % manifest.id,
                commands=(("lspci", "-nn", "-k"),)),
        ))
    return findings


CHECK = Check(
    id="kmod.removed_drivers",
    title="Loaded drivers are not removed in the target's EL family",
    category="kernel modules",
    run=run,
    requires=("kmods.loaded",),
    description=__doc__,
)
