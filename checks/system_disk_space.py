"""Detects file systems without room for the swap's downloads, transaction and new kernel.

Why it matters: `dnf distro-sync` first downloads every replacement package
into /var/cache/dnf, then rpm writes the new files (mostly under /usr) before
it removes the old packages, and a new kernel lands in /boot (vmlinuz and an
initramfs) and /lib/modules. Running out of space half-way leaves a host with
a mix of CentOS and target packages. File systems that share a device are one
pool: their needs add up.

How the need is estimated (the finding shows every number):
- downloads (on the file system holding /var): the installed size of the
  packages the swap replaces (the source distribution's packages; with
  --target-repo only those the target carries), times DOWNLOAD_RATIO;
- transaction (on the file system holding /usr, or / without a separate
  /usr): TRANSACTION_RATIO of the same, plus the installed size of the
  current kernel packages as the size of the new kernel's modules;
- /boot: NEW_KERNEL_BOOT_BYTES.
Available space is statvfs's f_bavail (what a non-root process may use; root
can dip into the reserved blocks, which this check leaves as a margin).

Facts: system.filesystems (path, device, avail_bytes, measured_on), packages
(name, vendor, size, version, release).
Manifest keys: packages (repodata snapshot: which packages the target carries),
release_swap.remove.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

from .packages_provenance import from_source_vendor, real_packages

MiB = 1024 * 1024
GiB = 1024 * MiB
KERNEL_PACKAGES = ("kernel", "kernel-core", "kernel-modules", "kernel-modules-extra")

# Room a new kernel and its initramfs need in /boot: leapp-repository's CheckBootAvailSpace
# inhibits an upgrade below 100 MiB available on /boot (MIN_AVAIL_BYTES_FOR_BOOT = 100 * 2**20 in
# repos/system_upgrade/common/actors/checkbootavailspace; its rationale: kernel + initramfs
# "together worth of 66MiB").
NEW_KERNEL_BOOT_BYTES = 100 * MiB
# Downloaded rpm size relative to installed size. 1.0 is an upper bound, not a typical value:
# rpm payloads are compressed, so the real download is smaller; no measured ratio for the
# target's packages is available, and running out of space mid-download is the worse error.
# `dnf distro-sync --assumeno` against the target repositories prints the exact figure.
DOWNLOAD_RATIO = 1.0
# Extra space the transaction itself holds on /usr: rpm writes each new file next to the old
# one before renaming it into place, and dnf erases the replaced packages only at the end
# ("Cleanup" steps), so files that move between builds exist twice for a while. 10% of the
# replaced installed size is this check's own allowance, not a measured figure.
TRANSACTION_RATIO = 0.10


def human(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB)):
        if abs(n) >= size:
            return "%.1f %s" % (n / size, unit)
    return "%d KiB" % (n // 1024)


def replaced_packages(facts: Facts, manifest: Manifest):
    swapped = set(manifest.release_swap.get("remove") or ())
    target = manifest.packages
    out = []
    for pkg in real_packages(facts):
        if not from_source_vendor(pkg):
            continue
        if target is not None and pkg.name not in swapped and pkg.name not in target \
                and not target.providers(pkg.name):
            continue
        out.append(pkg)
    return out


def kernel_bytes(facts: Facts) -> Tuple[int, str]:
    from migrate.collector import labelcompare

    kernels = [p for p in facts.packages or () if p.name in KERNEL_PACKAGES]
    if not kernels:
        return 0, "no kernel package installed"
    newest = kernels[0]
    for pkg in kernels[1:]:
        if labelcompare(pkg.evr, newest.evr) > 0:
            newest = pkg
    same = [p for p in kernels if p.evr == newest.evr]
    return sum(p.size or 0 for p in same), ", ".join(sorted(p.nevra for p in same))


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    filesystems = {fs.path: fs for fs in facts.system.filesystems}
    if "/" not in filesystems:
        raise MissingFacts("the free space of / was not measured")
    replaced = replaced_packages(facts, manifest)
    replaced_bytes = sum(p.size or 0 for p in replaced)
    unsized = [p.name for p in replaced if p.size is None]
    kbytes, knames = kernel_bytes(facts)

    def fs_for(path: str):
        return filesystems.get(path) or filesystems["/"]

    needs: List[Tuple[str, str, int]] = [   # (mount it lands on, what, bytes)
        (fs_for("/var").path, "downloads of %d packages (%s installed x %.2f)"
         % (len(replaced), human(replaced_bytes), DOWNLOAD_RATIO), int(replaced_bytes * DOWNLOAD_RATIO)),
        (fs_for("/usr").path, "transaction allowance (%.0f%% of %s)" % (TRANSACTION_RATIO * 100,
                                                                         human(replaced_bytes)),
         int(replaced_bytes * TRANSACTION_RATIO)),
        (fs_for("/usr").path, "new kernel modules (as large as %s)" % knames, kbytes),
        (fs_for("/boot").path, "new kernel and initramfs in /boot", NEW_KERNEL_BOOT_BYTES),
    ]
    pools: Dict[int, dict] = {}
    for fs in facts.system.filesystems:
        pool = pools.setdefault(fs.device, {"paths": [], "avail": fs.avail_bytes, "needs": []})
        pool["paths"].append(fs.path)
        pool["avail"] = min(pool["avail"], fs.avail_bytes)
    for mount, what, size in needs:
        pools[filesystems[mount].device]["needs"].append((mount, what, size))

    short = []
    for device, pool in sorted(pools.items(), key=lambda item: item[1]["paths"][0]):
        need = sum(size for _, _, size in pool["needs"])
        if need and pool["avail"] < need:
            short.append((pool, need))
    if not short:
        return []
    offline = (" Offline root: these are the free space of the file system(s) holding %s, not of "
               "the host's own disks." % facts.root) if facts.root else ""
    note = (" %d replaced package(s) have no recorded size and count as 0." % len(unsized)) if unsized else ""
    basis = ("the %d source packages the target repositories carry" % len(replaced)
             if manifest.packages is not None else
             "all %d source-distribution packages (no --target-repo: an upper bound)" % len(replaced))
    lines = []
    for pool, need in short:
        label = pool["paths"][0] + (" (one file system with %s)" % ", ".join(pool["paths"][1:])
                                    if len(pool["paths"]) > 1 else "")
        lines.append("%s: %s available, %s needed = %s" % (
            label, human(pool["avail"]), human(need),
            " + ".join("%s %s on %s" % (human(size), what, mount) for mount, what, size in pool["needs"])))
    return [Finding(
        id="system.disk_space_low", severity="blocker", overridable=True,
        title="Not enough free space for the swap on %s" % ", ".join(p["paths"][0] for p, _ in short),
        summary="%s. Estimated from %s.%s%s" % ("; ".join(lines), basis, note, offline),
        subjects=tuple(p["paths"][0] for p, _ in short),
        remediation=Remediation(
            hint="Free or add space (clean caches, remove old kernels with `dnf remove --oldinstallonly`, "
                 "grow the volume), or point dnf's cachedir at a file system with room. The estimate "
                 "is deliberately high; `dnf distro-sync --assumeno` against the target repositories "
                 "prints the exact download size.",
            commands=(("df", "-h") + tuple(p["paths"][0] for p, _ in short), ("dnf", "clean", "all"))),
    )]


CHECK = Check(
    id="system.disk_space",
    title="Free space for the downloads, transaction and new kernel",
    category="system",
    run=run,
    requires=("system.disk", "packages"),
    description=__doc__,
)
