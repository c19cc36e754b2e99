"""Detects out-of-tree kernel modules that must be rebuilt for the target kernel.

Why it matters: modules under /lib/modules/*/extra, updates and weak-updates,
modules built by DKMS, modules shipped by kmod-* (or any non-kernel) packages,
and loaded modules the kernel marks out-of-tree ("O" taint) are built against
one kernel's ABI. The target kernel is another kernel (OpenCloudOS 8 runs
5.4, not 4.18): weak-updates links do not carry over, and nothing loads until
each module is rebuilt for, or replaced by a vendor build for, the target
kernel. A root file system on ZFS, or a VPN on an out-of-tree WireGuard,
fails at the first boot. When the target kernel ships a module of the same
name itself, the finding says so: remove the out-of-tree copy instead.

Facts: kmods.out_of_tree (path, kernel_release, location, module,
symlink_target, owners), kmods.dkms (module, version, kernels), kmods.loaded
(taint), packages (name, vendor, module_files).
Manifest keys: packages (repodata snapshot: target kernel release and module
files), kernel.flavours[default] (name, package, config, read through
migrate.kerneldata.flavour_config).
"""
from __future__ import annotations

from typing import Dict, List, Set

from migrate.collector import module_name, normalise_module_path
from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

from ._kmod_target import availability, normalise, target_kernel


class _Origin:
    def __init__(self) -> None:
        self.packages: Set[str] = set()
        self.dkms: Set[str] = set()
        self.files: List[str] = []
        self.unowned: List[str] = []
        self.loaded_taint = None


def collect(facts: Facts) -> Dict[str, _Origin]:
    origins: Dict[str, _Origin] = {}
    by_path = {m.path: m for m in facts.kmods.out_of_tree}
    dkms_built: Dict[str, Set[str]] = {}
    installed = {p.name for p in facts.packages or ()}
    for entry in facts.kmods.dkms:
        names = {normalise(m) for build in entry.kernels for m in build.modules} or {normalise(entry.module)}
        source = [entry.source] if entry.source else []
        source += ["package %s" % n for n in ("%s-dkms" % entry.module, "dkms-%s" % entry.module) if n in installed]
        label = "%s/%s%s" % (entry.module, entry.version, " (source %s)" % ", ".join(source) if source else "")
        for name in names:
            dkms_built.setdefault(name, set()).add(label)
    for mf in facts.kmods.out_of_tree:
        name = normalise(mf.module)
        origin = origins.setdefault(name, _Origin())
        owners = mf.owners
        if not owners and mf.symlink_target in by_path:
            owners = by_path[mf.symlink_target].owners
        origin.packages.update(owners)
        where = "%s (%s, kernel %s%s)" % (mf.path, mf.location, mf.kernel_release,
                                          ", -> %s" % mf.symlink_target if mf.symlink_target else "")
        origin.files.append(where)
        if not owners and name not in dkms_built and mf.symlink_target not in by_path:
            origin.unowned.append(mf.path)
    for name, builds in dkms_built.items():
        origins.setdefault(name, _Origin()).dkms.update(builds)
    # Module files owned by packages that are not the kernel (kmod-*, vendor drivers).
    for pkg in facts.packages or ():
        if pkg.name.startswith("kernel") or not pkg.module_files:
            continue
        for path in pkg.module_files:
            if normalise_module_path(path) in by_path:
                continue
            name = module_name(path)
            origin = origins.setdefault(name, _Origin())
            origin.packages.add(pkg.nevra)
            origin.files.append("%s (owned by %s)" % (path, pkg.name))
    for loaded in facts.kmods.loaded or ():
        if loaded.taint and "O" in loaded.taint:
            origin = origins.setdefault(normalise(loaded.name), _Origin())
            origin.loaded_taint = loaded.taint
    loaded_names = {normalise(m.name): m for m in facts.kmods.loaded or ()}
    for name, origin in origins.items():
        if name in loaded_names and origin.loaded_taint is None:
            origin.loaded_taint = loaded_names[name].taint or ""
    return origins


def describe(name: str, origin: _Origin, facts: Facts) -> str:
    parts = []
    if origin.packages:
        vendors = {p.nevra: p.vendor for p in facts.packages or ()}
        parts.append("package %s" % ", ".join(
            "%s (%s)" % (nevra, vendors.get(nevra) or "no vendor") for nevra in sorted(origin.packages)))
    if origin.dkms:
        parts.append("DKMS %s" % ", ".join(sorted(origin.dkms)))
    if origin.unowned and not origin.dkms:
        parts.append("no package or DKMS tree owns %s (built by hand?)" % ", ".join(origin.unowned))
    if not origin.files and not origin.dkms:
        parts.append("loaded with taint (%s) from outside /lib/modules/*/{extra,updates,weak-updates}"
                     % origin.loaded_taint)
    state = "loaded%s" % (" (taint %s)" % origin.loaded_taint if origin.loaded_taint else "") \
        if origin.loaded_taint is not None else "not loaded now"
    files = "; files: %s" % ", ".join(origin.files) if origin.files else ""
    return "%s: %s, %s%s" % (name, " + ".join(parts) or "origin unknown", state, files)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    origins = collect(facts)
    if not origins:
        return []
    tk = target_kernel(facts, manifest)
    in_target = {}
    rebuild = {}
    for name, origin in sorted(origins.items()):
        found = availability(tk, name) if tk.decidable else None
        if found is not None and found.status in ("shipped", "builtin"):
            in_target[name] = (origin, found)
        else:
            rebuild[name] = origin
    release = tk.release
    names_by_nevra = {p.nevra: p.name for p in facts.packages or ()}
    findings = []
    if rebuild:
        names = tuple(sorted(rebuild))
        commands = []
        dkms = sorted({b for o in rebuild.values() for b in o.dkms})
        if dkms:
            commands.append(("dkms", "status"))
            if release:
                commands.append(("dkms", "autoinstall", "-k", release))
        pkgs = sorted({p for o in rebuild.values() for p in o.packages})
        commands += [("rpm", "-qi", names_by_nevra.get(p, p)) for p in pkgs[:10]]
        commands += [("modinfo", path) for o in rebuild.values() for path in o.unowned[:3]]
        target = ("the target kernel %s" % release if release else
                  "the %s kernel (%s)" % (manifest.name, tk.flavour_name))
        findings.append(Finding(
            id="kmod.out_of_tree_rebuild", severity="blocker", overridable=True,
            title="%d out-of-tree kernel module(s) must be rebuilt for %s" % (len(names), manifest.name),
            summary="These modules are built for the current kernel's ABI and will not load on %s. "
                    "%s." % (target, "; ".join(describe(n, rebuild[n], facts) for n in names)),
            subjects=names,
            remediation=Remediation(
                hint="DKMS modules: install the target kernel and its kernel-devel, then run "
                     "`dkms autoinstall -k <target kernel release>`%s. kmod-* packages: install the "
                     "vendor's build for the target kernel (an ELRepo kmod built for RHEL 8 kernels "
                     "does not fit another kernel series) or move the module to DKMS. Hand-built "
                     "modules: rebuild from source against the target kernel's headers. Remove what "
                     "is no longer needed." % (" (%s)" % release if release else ""),
                commands=tuple(commands) or (("lsmod",),)),
        ))
    if in_target:
        names = tuple(sorted(in_target))
        findings.append(Finding(
            id="kmod.out_of_tree_in_target_kernel", severity="warning", overridable=True,
            title="The %s kernel ships %d module(s) installed out of tree here" % (manifest.name, len(names)),
            summary="The target kernel has its own module of these names; the out-of-tree copies "
                    "(built for the current kernel) should go so the in-tree module loads. %s."
                    % "; ".join("%s (%s)" % (describe(n, in_target[n][0], facts), in_target[n][1].detail)
                                for n in names),
            subjects=names,
            remediation=Remediation(
                hint="Remove the kmod-* package or `dkms remove` the module before the swap, and check "
                     "that the in-tree module's version has the features you use.",
                commands=tuple(("rpm", "-e", "--test", name) for name in sorted(
                    {names_by_nevra.get(p, p) for o, _ in in_target.values() for p in o.packages}))
                or (("dkms", "status"),)),
        ))
    return findings


CHECK = Check(
    id="kmod.out_of_tree",
    title="Out-of-tree kernel modules are rebuilt for the target kernel",
    category="kernel modules",
    run=run,
    requires=("kmods.out_of_tree", "kmods.dkms"),
    description=__doc__,
)
