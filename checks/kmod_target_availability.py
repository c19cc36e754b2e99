"""Detects loaded kernel modules that the target kernel does not ship.

Why it matters: after the swap the host boots the target's kernel; a module it
lacks is a storage, network or firewall function that is gone at the first
reboot (or a boot that fails, for the root file system's driver). Exact when
the target's repodata is given (--target-repo): the module files owned by the
target's kernel packages. Otherwise from the target kernel's reference config
through a module -> CONFIG symbol table built from the upstream Makefiles,
with the config's kind stated: a module that is not in the table, or whose
symbol the config cannot answer, is reported as unknown, never as missing.
Modules whose name went away upstream (nf_conntrack_ipv4 merged into
nf_conntrack in 4.19, ipt_MASQUERADE now an alias of xt_MASQUERADE) are
reported as such: scripts and /etc/modules-load.d entries that name the old
module fail to load it. Out-of-tree modules are kmod.out_of_tree's concern.

Facts: kmods.loaded (name, taint), kmods.out_of_tree (module, kernel_release),
kernel.release, os.arch.
Manifest keys: packages (repodata snapshot: module_paths of kernel,
kernel-core, kernel-modules, kernel-modules-extra), kernel.flavours[default]
(package, version, config.kind/arch/file; the config read through
migrate.kerneldata.flavour_config).
"""
from __future__ import annotations

from typing import Dict, List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

from ._kmod_target import availability, normalise, target_kernel


def out_of_tree_names(facts: Facts) -> set:
    """Loaded modules that come from outside the kernel package (kmod.out_of_tree reports them)."""
    running = facts.kernel.release
    names = {normalise(m.module) for m in facts.kmods.out_of_tree
             if running is None or m.kernel_release == running}
    names.update(normalise(m.name) for m in facts.kmods.loaded or () if m.taint and "O" in m.taint)
    return names


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    tk = target_kernel(facts, manifest)
    if not tk.decidable:
        raise MissingFacts(
            "cannot tell which modules %s ships: no target repodata with kernel packages "
            "(give --target-repo) and %s" % (tk.flavour_name, tk.config_note))
    skip = out_of_tree_names(facts)
    by_status: Dict[str, List[tuple]] = {}
    for module in sorted({normalise(m.name) for m in facts.kmods.loaded or ()}):
        if module in skip:
            continue
        found = availability(tk, module)
        by_status.setdefault(found.status, []).append((module, found))

    where = ("the kernel packages of %s (%s, kernel %s)" % (manifest.name, tk.packages_source, tk.release)
             if tk.modules is not None else
             "the %s reference config (%s)" % (tk.flavour_name, tk.config_note))
    findings = []

    def lines(items):
        return "; ".join("%s: %s" % (m, a.detail) for m, a in items)

    missing = by_status.get("missing", [])
    if missing:
        names = tuple(m for m, _ in missing)
        findings.append(Finding(
            id="kmod.unavailable_in_target", severity="blocker", overridable=True,
            title="%d loaded kernel module(s) are not in the %s kernel" % (len(names), manifest.name),
            summary="These modules are loaded now and %s does not provide them, so what they do "
                    "(a disk, a NIC, a file system, firewall rules) stops working after the reboot "
                    "into the target kernel. Source: %s. %s"
                    % (tk.flavour_name, where, lines(missing)),
            subjects=names,
            remediation=Remediation(
                hint="Find out what uses each module (lsmod's 'Used by', the device it drives). "
                     "Replace the hardware or function, find a vendor kmod for the target kernel, "
                     "or accept the loss with a waiver once the module is known to be unneeded.",
                commands=(("lsmod",),) + tuple(("modinfo", m) for m in names[:10])),
        ))
    not_in_pkgs = by_status.get("not_in_packages", [])
    if not_in_pkgs:
        names = tuple(m for m, _ in not_in_pkgs)
        findings.append(Finding(
            id="kmod.not_in_target_packages", severity="warning", overridable=True,
            title="%d loaded kernel module(s) have no module file in the %s kernel packages"
                  % (len(names), manifest.name),
            summary="No kernel package in %s ships a file for these modules. Repository metadata "
                    "does not list modules built into the kernel image, and the target config "
                    "cannot settle it, so they are either built in or gone. %s"
                    % (tk.packages_source, lines(not_in_pkgs)),
            subjects=names,
            remediation=Remediation(
                hint="On a test host with the target kernel installed, look for the module in "
                     "/lib/modules/<release>/modules.builtin; if it is not there, treat it as missing.",
                commands=tuple(("modinfo", m) for m in names[:10])),
        ))
    merged = by_status.get("merged", [])
    if merged:
        names = tuple(m for m, _ in merged)
        findings.append(Finding(
            id="kmod.merged_in_target", severity="warning", overridable=True,
            title="%d loaded module name(s) no longer exist in the %s kernel" % (len(names), manifest.name),
            summary="Their function moved into another module upstream, without an alias: "
                    "`modprobe <old name>` fails on the target, so /etc/modules-load.d entries, "
                    "scripts and tools that load the old name break (the function itself is there). %s"
                    % lines(merged),
            subjects=names,
            remediation=Remediation(
                hint="Replace the old names by the new module in /etc/modules-load.d, "
                     "/etc/modprobe.d and scripts (e.g. kube-proxy's IPVS mode loads nf_conntrack "
                     "on kernels >= 4.19).",
                commands=(("grep", "-rlE", "|".join(names), "/etc/modules-load.d", "/etc/modprobe.d",
                           "/etc/sysconfig/modules"),)),
        ))
    renamed = by_status.get("renamed", [])
    if renamed:
        names = tuple(m for m, _ in renamed)
        findings.append(Finding(
            id="kmod.renamed_in_target", severity="info",
            title="%d loaded module(s) are aliases of another module on %s" % (len(names), manifest.name),
            summary="The target kernel provides these through another module that declares the "
                    "old name as an alias, so `modprobe` still works, but lsmod shows the new name. %s"
                    % lines(renamed),
            subjects=names,
        ))
    unknown = by_status.get("unknown", [])
    if unknown:
        names = tuple(m for m, _ in unknown)
        findings.append(Finding(
            id="kmod.availability_unknown", severity="info",
            title="Whether %s ships %d loaded module(s) is unknown" % (manifest.name, len(names)),
            summary="Without the target's repodata this check reads the target kernel config "
                    "through a table of common modules; for these it cannot tell. %s" % lines(unknown),
            subjects=names,
            remediation=Remediation(
                hint="Give the target repositories (--target-repo URL|DIR|SNAPSHOT) for an exact answer."),
        ))
    return findings


CHECK = Check(
    id="kmod.target_availability",
    title="Loaded kernel modules exist in the target kernel",
    category="kernel modules",
    run=run,
    requires=("kmods.loaded",),
    description=__doc__,
)
