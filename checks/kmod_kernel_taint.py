"""Decodes a tainted running kernel and says which taint flags matter for the migration.

Why it matters: /proc/sys/kernel/tainted is a bit field. Some bits point at
things that do not survive a kernel change: proprietary (P), force-loaded (F),
staging (C), out-of-tree (O) and unsigned (E) modules must come back built for
the target kernel (and signed, if Secure Boot is on there); a live-patched
kernel (K) loses its live patches. Others say the machine is unhealthy now
(machine check M, bad page B, oops D, soft lockup L), which should be
understood before a change that ends in a reboot. The remaining bits
(warnings, user-requested, firmware workarounds, build flags) are reported
for information. The loaded modules that carry taint flags are named.

Facts: kernel.tainted, kmods.loaded (name, taint).
Manifest keys: none.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

# bit -> (letter, name in the kernel's headers, what it means, matters for the migration)
# From the table in Documentation/admin-guide/tainted-kernels.rst (torvalds/linux @14e77332e746).
TAINT_FLAGS = {
    0: ("P", "TAINT_PROPRIETARY_MODULE", "a proprietary module was loaded: it needs its vendor's build "
        "for the target kernel", True),
    1: ("F", "TAINT_FORCED_MODULE", "a module was force-loaded (insmod -f) despite a version mismatch", True),
    2: ("S", "TAINT_CPU_OUT_OF_SPEC", "the kernel runs on an out-of-specification system", False),
    3: ("R", "TAINT_FORCED_RMMOD", "a module was force-unloaded (rmmod -f)", False),
    4: ("M", "TAINT_MACHINE_CHECK", "a processor reported a machine check exception: hardware errors", True),
    5: ("B", "TAINT_BAD_PAGE", "a bad page reference or unexpected page flags: hardware or kernel fault", True),
    6: ("U", "TAINT_USER", "a user-space program requested the taint", False),
    7: ("D", "TAINT_DIE", "the kernel died recently (an OOPS or BUG)", True),
    8: ("A", "TAINT_OVERRIDDEN_ACPI_TABLE", "an ACPI table was overridden: the target kernel's "
        "initramfs must carry the override too", False),
    9: ("W", "TAINT_WARN", "the kernel issued a warning", False),
    10: ("C", "TAINT_CRAP", "a staging driver was loaded: staging drivers often do not exist in "
         "another kernel", True),
    11: ("I", "TAINT_FIRMWARE_WORKAROUND", "a workaround for a platform firmware bug is active", False),
    12: ("O", "TAINT_OOT_MODULE", "an externally built (out-of-tree) module was loaded: it must be "
         "rebuilt for the target kernel (see kmod.out_of_tree)", True),
    13: ("E", "TAINT_UNSIGNED_MODULE", "an unsigned module was loaded: with Secure Boot on, the target "
         "kernel refuses unsigned modules", True),
    14: ("L", "TAINT_SOFTLOCKUP", "a soft lockup occurred", True),
    15: ("K", "TAINT_LIVEPATCH", "the kernel is live-patched: the patches do not apply to the target "
         "kernel, which needs its own updates", True),
    16: ("X", "TAINT_AUX", "auxiliary taint, defined and used by distributions", False),
    17: ("T", "TAINT_RANDSTRUCT", "the kernel was built with the struct randomization plugin", False),
    18: ("N", "TAINT_TEST", "an in-kernel test has been run", False),
}


def decode(value: int) -> List[tuple]:
    """[(bit, letter, name, meaning, matters)] for every bit set in `value`."""
    out = []
    bit = 0
    while value >> bit:
        if value >> bit & 1:
            letter, name, meaning, matters = TAINT_FLAGS.get(
                bit, ("?", "TAINT_BIT_%d" % bit, "bit %d is not in the upstream table (distribution "
                      "kernels define some high bits of their own)" % bit, False))
            out.append((bit, letter, name, meaning, matters))
        bit += 1
    return out


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    value = facts.kernel.tainted
    if not value:
        return []
    flags = decode(value)
    tainted_modules = sorted("%s (%s)" % (m.name, m.taint) for m in facts.kmods.loaded or () if m.taint)
    modules = (" Loaded modules with taint flags: %s." % ", ".join(tainted_modules)
               if tainted_modules else "")

    def describe(items):
        return "; ".join("%s %s (bit %d): %s" % (letter, name, bit, meaning)
                         for bit, letter, name, meaning, _ in items)

    findings = []
    matters = [f for f in flags if f[4]]
    benign = [f for f in flags if not f[4]]
    if matters:
        findings.append(Finding(
            id="kmod.kernel_tainted", severity="warning", overridable=True,
            title="The running kernel is tainted (%s)" % "".join(f[1] for f in matters),
            summary="/proc/sys/kernel/tainted is %d. Flags that matter for the migration: %s.%s"
                    % (value, describe(matters), modules),
            subjects=tuple(f[2] for f in matters),
            remediation=Remediation(
                hint="Rebuild or replace the tainting modules for the target kernel, and look into "
                     "hardware errors, oopses and lockups (journal, mcelog) before the change.",
                commands=(("journalctl", "-k", "-b", "--no-pager", "-p", "warning"),
                          ("lsmod",))),
        ))
    if benign:
        findings.append(Finding(
            id="kmod.kernel_taint_info", severity="info",
            title="Other kernel taint flags are set (%s)" % "".join(f[1] for f in benign),
            summary="/proc/sys/kernel/tainted is %d. Flags that do not block the migration: %s."
                    % (value, describe(benign)),
            subjects=tuple(f[2] for f in benign),
        ))
    return findings


CHECK = Check(
    id="kmod.kernel_taint",
    title="Kernel taint flags that matter for the migration",
    category="kernel modules",
    run=run,
    requires=("kernel.tainted",),
    description=__doc__,
)
