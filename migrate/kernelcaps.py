"""What a kernel offers: eBPF and cloud-native capabilities, each yes/no/unknown with evidence.

A capability is computed from three things, strongest first:

1. the kernel's config: an option that defines the feature (CONFIG_BPF_LSM,
   CONFIG_IO_URING, ...) set to y/m proves it, whatever the version says (that is
   how backports show); "not set", or absent from a *full* config, disproves it.
   A config that cannot say (savedefconfig, excerpt, SRPM-merged, or none) gives
   ``unknown`` (migrate.kernelconfig), never a guessed "no";
2. on the source host, runtime facts (/sys/kernel/btf/vmlinux, a mounted cgroup v2);
3. the upstream version that introduced it (bcc's docs/kernel-versions.md tables):
   older than that is "no" only for a kernel line without known backports
   (migrate.kernelfamilies), "unknown" otherwise.

The same model runs on the source host (facts) and on a target (its manifest's
kernel flavour and reference config), so the two can be compared cell by cell.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from migrate import kerneldata
from migrate.kerneldata import Record
from migrate.kernelconfig import UNKNOWN as CONFIG_UNKNOWN
from migrate.kernelconfig import KernelConfig
from migrate.kernelfamilies import KernelFamily, family_for, rhel_minor

YES, NO, UNKNOWN = "yes", "no", "unknown"
Version = Tuple[int, ...]


class Cell(Record):
    """One yes/no/unknown answer and why."""

    __slots__ = ("status", "evidence")
    status: str
    evidence: str

    def to_dict(self) -> Dict[str, str]:
        return {"status": self.status, "evidence": self.evidence}


def parse_version(text: Optional[str]) -> Optional[Version]:
    """The leading dotted number of a kernel release or version string.

    >>> parse_version("3.10.0-1160.119.1.el7.x86_64"), parse_version("6.6"), parse_version("x")
    ((3, 10, 0), (6, 6, 0), None)
    """
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def vstr(version: Optional[Version]) -> str:
    if not version:
        return "unknown"
    return ".".join(str(p) for p in (version if version[2:3] != (0,) else version[:2]))


# -- configs ----------------------------------------------------------------------

# An enabled option proves what it selects or depends on. These relations let a
# savedefconfig (which omits selected symbols) still answer for CONFIG_BPF & co.
_BPF_KCONFIG = "torvalds/linux kernel/bpf/Kconfig @4981f05faf36"
IMPLIED_BY: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "CONFIG_BPF": (("CONFIG_BPF_SYSCALL", "BPF_SYSCALL selects BPF, " + _BPF_KCONFIG),
                   ("CONFIG_BPF_JIT", "BPF_JIT depends on BPF, " + _BPF_KCONFIG)),
    "CONFIG_BPF_SYSCALL": (("CONFIG_BPF_LSM", "BPF_LSM depends on BPF_SYSCALL, " + _BPF_KCONFIG),
                           ("CONFIG_CGROUP_BPF", "CGROUP_BPF depends on BPF_SYSCALL, init/Kconfig")),
    "CONFIG_BPF_JIT": (("CONFIG_BPF_LSM", "BPF_LSM depends on BPF_JIT, " + _BPF_KCONFIG),),
    "CONFIG_BPF_EVENTS": (("CONFIG_BPF_LSM", "BPF_LSM depends on BPF_EVENTS, " + _BPF_KCONFIG),),
    "CONFIG_PERF_EVENTS": (("CONFIG_CGROUP_PERF", "CGROUP_PERF depends on PERF_EVENTS && CGROUPS, init/Kconfig"),),
    "CONFIG_CGROUPS": (("CONFIG_CGROUP_PERF", "CGROUP_PERF depends on PERF_EVENTS && CGROUPS, init/Kconfig"),),
    "CONFIG_FIB_RULES": (("CONFIG_IP_MULTIPLE_TABLES", "IP_MULTIPLE_TABLES selects FIB_RULES, net/ipv4/Kconfig"),),
    "CONFIG_SCHEDSTATS": (("CONFIG_LATENCYTOP", "LATENCYTOP selects SCHEDSTATS, lib/Kconfig.debug"),),
}
# Every full .config lists the architecture's def_bool symbol and, when the bpf()
# syscall is on, the CONFIG_BPF it selects. A host file without them is an SRPM-style
# merged option list (the CentOS 8 test hosts carry one), whose absences mean nothing.
ARCH_SYMBOLS = ("CONFIG_X86", "CONFIG_ARM64", "CONFIG_S390", "CONFIG_PPC", "CONFIG_RISCV",
                "CONFIG_LOONGARCH", "CONFIG_MIPS", "CONFIG_ARM")


def host_config_kind(options: Dict[str, str]) -> Tuple[str, str]:
    """(kind, caveat) of a config file read on a host: "full" unless it lacks what every full config has."""
    missing = []
    if not any(options.get(sym) == "y" for sym in ARCH_SYMBOLS):
        missing.append("an architecture symbol (CONFIG_X86=y, CONFIG_ARM64=y, ...)")
    if options.get("CONFIG_BPF_SYSCALL") == "y" and "CONFIG_BPF" not in options:
        missing.append("CONFIG_BPF although CONFIG_BPF_SYSCALL=y selects it")
    if not missing:
        return "full", ""
    return "srpm_merged", ("the file lacks %s, so it is not a complete olddefconfig output "
                           "(an SRPM-style merged list): an absent option is unknown" % " and ".join(missing))


class ConfigView(Record):
    """A kernel config (or none) answering yes/no/unknown per option, with evidence."""

    __slots__ = ("config", "missing_reason")
    _defaults = {"missing_reason": "no kernel config"}
    config: Optional[KernelConfig]
    missing_reason: str

    def describe(self) -> str:
        if self.config is None:
            return self.missing_reason
        text = "%s (%s)" % (self.config.source, self.config.kind)
        return text + (": " + self.config.caveats if self.config.caveats else "")

    def option(self, name: str, _seen: Tuple[str, ...] = ()) -> Cell:
        if not name.startswith("CONFIG_"):
            name = "CONFIG_" + name
        if self.config is None:
            return Cell(UNKNOWN, "%s: %s" % (name, self.missing_reason))
        state = self.config.state(name)
        where = "%s (%s)" % (self.config.source, self.config.kind)
        if state == CONFIG_UNKNOWN:
            for other, why in IMPLIED_BY.get(name, ()):
                if other in _seen:
                    continue
                implying = self.option(other, _seen + (name,))
                if implying.status == YES:
                    return Cell(YES, "%s implied by %s, and %s" % (name, implying.evidence, why))
            return Cell(UNKNOWN, "%s is not listed in %s, which does not list every option%s" % (
                name, where, " (" + self.config.caveats + ")" if self.config.caveats else ""))
        if state in ("y", "m"):
            return Cell(YES, "%s=%s in %s" % (name, state, where))
        if name not in self.config.options:
            return Cell(NO, "%s does not exist in %s: this kernel has no such option" % (name, where))
        if state == "n":
            return Cell(NO, "%s is not set in %s" % (name, where))
        return Cell(YES, "%s=%s in %s" % (name, state, where))

    def value(self, name: str) -> Optional[str]:
        """The option's raw value as listed (None when not listed or no config)."""
        return None if self.config is None else self.config.options.get(name)


# Options that upstream folded into the core: from the given version the feature is
# always built and the symbol no longer exists, so "absent" means "built in". Cilium's
# IPsec list still names INET_XFRM_MODE_TUNNEL although every kernel it supports is newer.
BUILTIN_SINCE: Dict[str, Tuple[str, str]] = {
    "CONFIG_INET_XFRM_MODE_TUNNEL": ("5.2", "xfrm modes were made built in for 5.2 (netdev: \"[PATCH 12/18] xfrm: "
                                            "make xfrm modes builtin\", 2019-04-30; \"defconfigs: remove obsolete "
                                            "CONFIG_INET_XFRM_MODE_*\", 2019-06-12)"),
}


# -- the kernel being described ---------------------------------------------------------

class KernelProfile(Record):
    """One kernel as the model sees it: release, config, family; runtime facts on the source."""

    __slots__ = ("side", "label", "release", "version", "arch", "config", "family", "rhel_minor",
                 "btf_runtime", "cgroup_v2_mounted", "cmdline", "evidence")
    _defaults = {"rhel_minor": None, "btf_runtime": None, "cgroup_v2_mounted": None, "cmdline": None,
                 "evidence": ""}
    side: str  # "source" | "target"
    label: str
    release: Optional[str]
    version: Optional[Version]
    arch: Optional[str]
    config: ConfigView
    family: KernelFamily
    rhel_minor: Optional[Tuple[int, int]]
    btf_runtime: Optional[bool]  # /sys/kernel/btf/vmlinux on the source
    cgroup_v2_mounted: Optional[bool]
    cmdline: Optional[str]
    evidence: str

    def to_dict(self) -> Dict[str, Any]:
        return {"side": self.side, "label": self.label, "release": self.release,
                "version": vstr(self.version) if self.version else None, "arch": self.arch,
                "config": self.config.describe(), "family": self.family.id,
                "family_evidence": self.family.evidence,
                "rhel_minor": "%d.%d" % self.rhel_minor if self.rhel_minor else None,
                "evidence": self.evidence}


def config_profile(release: str, config: Optional[KernelConfig], arch: str = "x86_64", hint: str = "",
                   side: str = "target", label: Optional[str] = None) -> KernelProfile:
    """A profile for a kernel known only by its release and a config (tests, `kernel diff` of two files)."""
    version = parse_version(release)
    family = family_for(version, release, hint)
    return KernelProfile(side=side, label=label or "kernel %s" % release, release=release, version=version,
                         arch=arch, config=ConfigView(config), family=family,
                         rhel_minor=rhel_minor(release) if family.id in ("rhel7", "rhel8") else None,
                         evidence=config.source if config else "")


def source_profile(facts: Any) -> KernelProfile:
    """The source host's kernel, from facts (the collector's kernel/os/workloads groups)."""
    kernel = facts.kernel
    release = kernel.release if facts.probe("kernel.release").status == "ok" else None
    version = parse_version(release)
    config_probe = facts.probe("kernel.config")
    if kernel.config is not None and config_probe.status == "ok":
        kind, caveat = host_config_kind(kernel.config)
        view = ConfigView(KernelConfig(kernel.config, kind, kernel.config_path or "kernel config", caveat))
    else:
        view = ConfigView(None, "no kernel config collected (kernel.config %s%s)" % (
            config_probe.status, ": " + config_probe.message if config_probe.message else ""))
    family = family_for(version, release or "")
    btf = kernel.btf if facts.probe("kernel.btf").status == "ok" else None
    cgroup = facts.workloads.cgroup_v2 if facts.probe("system.cgroup").status == "ok" else None
    return KernelProfile(
        side="source", label="source host kernel %s" % (release or "(unknown release)"),
        release=release, version=version, arch=facts.os.arch, config=view, family=family,
        rhel_minor=rhel_minor(release) if family.id in ("rhel7", "rhel8") else None,
        btf_runtime=btf, cgroup_v2_mounted=cgroup, cmdline=kernel.cmdline,
        evidence="kernel.release from %s" % (kernel.release_source or "the collector"))


def target_profile(manifest: Any, flavour_id: Optional[str] = None, arch: Optional[str] = None) -> KernelProfile:
    """A target's kernel flavour (default flavour unless named) with its reference config.

    ``arch`` is the host's architecture: a reference config made for another
    architecture says nothing about this host's kernel (unknown, not its answers).
    """
    flavour = manifest.kernel_flavour(flavour_id)
    config = kerneldata.flavour_config(manifest, flavour.id)
    view = ConfigView(config, "%s flavour %s has no reference config in the manifest" % (manifest.id, flavour.id))
    ref_arch = flavour.config.arch if flavour.config else None
    if config is not None and arch and ref_arch and arch != ref_arch:
        view = ConfigView(None, "%s flavour %s has a reference config for %s only (%s), not for this %s host" % (
            manifest.id, flavour.id, ref_arch, flavour.config.file, arch))
    version = parse_version(flavour.version) or parse_version(flavour.release_example)
    return KernelProfile(
        side="target", label="%s: %s" % (manifest.name, flavour.name),
        release=flavour.release_example, version=version,
        arch=arch or ref_arch, config=view,
        family=family_for(version, flavour.release_example or "", flavour.id),
        evidence=" ".join(flavour.evidence.split()))


def option_cell(p: "KernelProfile", name: str) -> Cell:
    """A kernel option on this kernel, counting options later folded into the core."""
    cell = p.config.option(name)
    since = BUILTIN_SINCE.get(name)
    if cell.status != YES and since and p.version is not None and p.version >= parse_version(since[0]):
        return Cell(YES, "%s: built in from %s, the option no longer exists (%s)" % (name, since[0], since[1]))
    return cell


# -- rules ---------------------------------------------------------------------------------

def by_version(p: KernelProfile, introduced: str, what: str, source: str) -> Cell:
    """yes/no/unknown from the upstream version that introduced something."""
    needed = parse_version(introduced)
    if p.version is None:
        return Cell(UNKNOWN, "kernel version unknown; %s arrived upstream in %s (%s)" % (what, introduced, source))
    if needed is None or p.version >= needed:
        return Cell(YES, "kernel %s >= %s, where %s arrived upstream (%s)" % (vstr(p.version), introduced, what, source))
    if p.family.backports:
        return Cell(UNKNOWN, "%s arrived upstream in %s (%s); %s is a %s with backports (%s): whether it has "
                    "%s is not in the data" % (what, introduced, source, vstr(p.version), p.family.name,
                                               p.family.evidence, what))
    return Cell(NO, "kernel %s < %s, where %s arrived upstream (%s)" % (vstr(p.version), introduced, what, source))


def feature(p: KernelProfile, defining: Sequence[str] = (), gates: Sequence[str] = (),
            introduced: Optional[str] = None, what: str = "", source: str = "") -> Cell:
    """Combine config and version evidence for one feature.

    ``defining`` options prove the feature when set (backports included); ``gates``
    are needed but prove nothing alone; ``introduced`` is the upstream version.
    """
    defs = [p.config.option(o) for o in defining]
    gate = [p.config.option(o) for o in gates]
    for cell in defs + gate:
        if cell.status == NO:
            return cell
    if defs and all(c.status == YES for c in defs) and all(c.status == YES for c in gate):
        return Cell(YES, "; ".join(c.evidence for c in defs + gate))
    ver = by_version(p, introduced, what, source) if introduced else None
    if ver is not None and ver.status == NO:
        return ver
    pending = [c for c in defs + gate if c.status != YES]
    if ver is not None and ver.status == YES and not pending:
        return Cell(YES, "; ".join([ver.evidence] + [c.evidence for c in gate]))
    reasons = [c.evidence for c in pending] + ([ver.evidence] if ver is not None and ver.status != YES else [])
    if ver is not None and ver.status == YES:
        reasons.insert(0, ver.evidence)
    return Cell(UNKNOWN, "; ".join(reasons) or "no evidence either way")


# -- the bcc tables -----------------------------------------------------------------------------

BCC_SOURCE = "bcc docs/kernel-versions.md, ebpf/bcc-kernel-versions.json"
BPF_KINDS = {"prog": "Program types", "map": "Map types", "helper": "Helpers"}


def _bcc_name(kind: str, row: Dict[str, Any]) -> str:
    if kind == "helper":
        return row["name"].replace("BPF_FUNC_", "").rstrip("()").strip().lower()
    prefix = "BPF_PROG_TYPE_" if kind == "prog" else "BPF_MAP_TYPE_"
    return row.get("enum", row["name"]).replace(prefix, "").lower()


@lru_cache(maxsize=None)
def bpf_items(kind: str) -> Dict[str, str]:
    """name -> upstream version for program types ("prog"), map types ("map") or helpers."""
    rows = kerneldata.table(kerneldata.BCC_VERSIONS)["tables"][BPF_KINDS[kind]]
    out: Dict[str, str] = {}
    for row in rows:
        name = _bcc_name(kind, row)
        out.setdefault(name, row["kernel_version"])
    return out


def bpf_item(p: KernelProfile, kind: str, name: str) -> Cell:
    """Whether a program type, map type or helper is there (gated by the bpf() syscall)."""
    items = bpf_items(kind)
    key = name.lower().replace("bpf_func_", "").replace("bpf_map_type_", "").replace("bpf_prog_type_", "").rstrip("()")
    if key not in items:
        return Cell(UNKNOWN, "%s %r is not in the bcc tables" % (kind, name))
    introduced = items[key]
    removed = re.search(r"removed in ([0-9.]+)", introduced)
    what = "BPF %s %s" % ({"prog": "program type", "map": "map type", "helper": "helper"}[kind], key)
    cell = feature(p, gates=("CONFIG_BPF_SYSCALL",), introduced=introduced.split()[0], what=what, source=BCC_SOURCE)
    if removed and p.version and p.version >= parse_version(removed.group(1)):
        return Cell(NO, "%s was removed upstream in %s (%s)" % (what, removed.group(1), BCC_SOURCE))
    return cell


def _bcc_row(table: str, name: str) -> str:
    for row in kerneldata.table(kerneldata.BCC_VERSIONS)["tables"][table]:
        if row["name"].replace("\\", "") == name:
            return row["kernel_version"]
    raise KeyError(name)


# -- capabilities -------------------------------------------------------------------------------

def _jit(p: KernelProfile) -> Cell:
    arch = {"x86_64": "x86_64", "aarch64": "ARM64", "s390x": "s390", "ppc64le": "PowerPC64",
            "loongarch64": "LoongArch", "riscv64": "RISC-V RV64G"}.get(p.arch or "x86_64", "x86_64")
    return feature(p, defining=("CONFIG_BPF_JIT",), introduced=_bcc_row("JIT compiling", arch),
                   what="the %s BPF JIT" % arch, source=BCC_SOURCE)


def _btf(p: KernelProfile) -> Cell:
    if p.btf_runtime is True:
        return Cell(YES, "/sys/kernel/btf/vmlinux exists on the host (kernel BTF for CO-RE)")
    cell = feature(p, defining=("CONFIG_DEBUG_INFO_BTF",), gates=("CONFIG_BPF_SYSCALL",))
    if p.btf_runtime is False:
        return Cell(NO, "/sys/kernel/btf/vmlinux does not exist on the host (%s)" % cell.evidence)
    return cell


def _cgroup_v2(p: KernelProfile) -> Cell:
    if p.cgroup_v2_mounted is True:
        return Cell(YES, "the unified cgroup v2 hierarchy is mounted (/sys/fs/cgroup/cgroup.controllers)")
    return feature(p, gates=("CONFIG_CGROUPS",), introduced="4.5", what="cgroup v2 (no longer experimental)",
                   source="cgroups(7), man7.org/linux/man-pages/man7/cgroups.7.html")


def _sockmap(p: KernelProfile) -> Cell:
    # Up to 5.x sock_map.o was built only with CONFIG_BPF_STREAM_PARSER; 5.15 trees
    # build it with CONFIG_BPF_SYSCALL (net/core/Makefile, both forms seen upstream).
    where = "net/core/Makefile: sock_map.o built by CONFIG_BPF_STREAM_PARSER, by CONFIG_BPF_SYSCALL in 5.15 trees"
    parser = p.config.option("CONFIG_BPF_STREAM_PARSER")
    base = feature(p, gates=("CONFIG_BPF_SYSCALL",), introduced=bpf_items("map")["sockmap"],
                   what="BPF sockmap", source=BCC_SOURCE)
    if base.status == NO or parser.status == YES:
        return base if base.status == NO else Cell(YES, "%s; %s" % (parser.evidence, base.evidence))
    if p.version and p.version >= (5, 15, 0):
        return base
    if parser.status == NO and p.version and p.version < (5, 10, 0):
        return Cell(NO, "%s (%s)" % (parser.evidence, where))
    return Cell(UNKNOWN, "%s; %s (%s)" % (parser.evidence, base.evidence, where))


def _bpf_lsm(p: KernelProfile) -> Cell:
    cell = feature(p, defining=("CONFIG_BPF_LSM",), introduced=_bcc_row("Main features", "BPF LSM hook"),
                   what="the BPF LSM", source=BCC_SOURCE)
    lsm = p.config.value("CONFIG_LSM")
    if cell.status == YES and lsm is not None and "bpf" not in lsm.split(","):
        return Cell(YES, cell.evidence + "; not in CONFIG_LSM=%s, so it needs lsm=...,bpf on the kernel "
                    "command line" % lsm)
    return cell


def _psi(p: KernelProfile) -> Cell:
    cell = feature(p, defining=("CONFIG_PSI",))
    if cell.status == YES and p.config.value("CONFIG_PSI_DEFAULT_DISABLED") == "y":
        on = p.cmdline is not None and "psi=1" in p.cmdline.split()
        return Cell(YES, cell.evidence + "; CONFIG_PSI_DEFAULT_DISABLED=y: off unless booted with psi=1"
                    + (" (this host's command line has psi=1)" if on else ""))
    return cell


class Capability(Record):
    """A named kernel capability and the rule that evaluates it on a KernelProfile."""

    __slots__ = ("id", "title", "group", "evaluate")
    id: str
    title: str
    group: str  # "ebpf" | "cloud_native"
    evaluate: Callable[[KernelProfile], Cell]


def _f(row: Optional[Tuple[str, str]] = None, **kw: Any) -> Callable[[KernelProfile], Cell]:
    """A feature() rule; ``row`` names the bcc table row giving the upstream version,
    looked up when evaluated so that importing this module reads no data file."""
    if row is None:
        return lambda p: feature(p, **kw)
    return lambda p: feature(p, introduced=_bcc_row(*row), source=BCC_SOURCE, **kw)


def _bcc(kind: str, name: str) -> Callable[[KernelProfile], Cell]:
    return lambda p: bpf_item(p, kind, name)


CAPABILITIES: Tuple[Capability, ...] = (
    Capability("bpf_syscall", "bpf() system call (eBPF programs and maps)", "ebpf",
               _f(row=("Main features", "bpf()` syscall"), defining=("CONFIG_BPF_SYSCALL",),
                  what="the bpf() syscall")),
    Capability("bpf_jit", "BPF JIT compiler", "ebpf", _jit),
    Capability("btf", "BTF type information for CO-RE (vmlinux BTF)", "ebpf", _btf),
    Capability("kprobe_bpf", "BPF on kprobes and tracepoints (bcc, bpftrace)", "ebpf",
               _f(row=("Main features", "BPF attached to `kprobes"), defining=("CONFIG_BPF_EVENTS",),
                  gates=("CONFIG_KPROBES",), what="BPF on kprobes")),
    Capability("cgroup_bpf", "BPF programs attached to cgroups", "ebpf",
               _f(row=("Main features", "BPF attached to cgroups for socket filtering"),
                  defining=("CONFIG_CGROUP_BPF",), what="cgroup BPF")),
    Capability("xdp", "XDP (eXpress Data Path) programs", "ebpf", _bcc("prog", "xdp")),
    Capability("af_xdp", "AF_XDP sockets", "ebpf",
               _f(row=("Main features", "AF_XDP"), defining=("CONFIG_XDP_SOCKETS",), what="AF_XDP")),
    Capability("sockmap", "BPF sockmap/sockhash (socket redirection)", "ebpf", _sockmap),
    Capability("bpf_lsm", "BPF LSM programs", "ebpf", _bpf_lsm),
    Capability("ringbuf", "BPF ring buffer", "ebpf", _bcc("map", "ringbuf")),
    Capability("bpf_timer", "BPF timers (bpf_timer_*)", "ebpf", _bcc("helper", "timer_init")),
    Capability("cgroup_v2", "cgroup v2 (unified hierarchy)", "cloud_native", _cgroup_v2),
    Capability("io_uring", "io_uring", "cloud_native", _f(defining=("CONFIG_IO_URING",))),
    Capability("mptcp", "Multipath TCP", "cloud_native", _f(defining=("CONFIG_MPTCP",))),
    Capability("psi", "Pressure stall information (PSI)", "cloud_native", _psi),
    Capability("cpu_burst", "CFS CPU burst (cpu.cfs_burst_us / cpu.max.burst)", "cloud_native",
               _f(gates=("CONFIG_CFS_BANDWIDTH",), introduced="5.14", what="CFS bandwidth burst",
                  source="opencontainers/runtime-spec issue #1119: burstable CFS landed in Linux 5.14, "
                         "torvalds/linux f418371")),
    Capability("smc_r", "SMC-R (shared memory communications over RDMA)", "cloud_native",
               _f(defining=("CONFIG_SMC",))),
)
CAPABILITY_IDS = tuple(c.id for c in CAPABILITIES)


def capability(cap_id: str) -> Capability:
    for cap in CAPABILITIES:
        if cap.id == cap_id:
            return cap
    raise KeyError(cap_id)


def capabilities(p: KernelProfile) -> Dict[str, Cell]:
    return {cap.id: cap.evaluate(p) for cap in CAPABILITIES}


def bpf_inventory(p: KernelProfile) -> Dict[str, Dict[str, Cell]]:
    """Every program type, map type and helper of the bcc tables, evaluated for one kernel."""
    return {kind: {name: bpf_item(p, kind, name) for name in bpf_items(kind)} for kind in BPF_KINDS}


def change(source: Cell, target: Cell) -> str:
    """gained | lost | same | unknown: what the move does to one capability."""
    if source.status == target.status:
        return "same"
    if target.status == YES and source.status == NO:
        return "gained"
    if source.status == YES and target.status == NO:
        return "lost"
    return "unknown"
