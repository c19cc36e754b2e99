"""What the host's workloads need of a kernel: declared by the user or detected in the facts.

Declared needs come from ``--needs`` (``parse_needs``) or ``--needs-file``
(``load_needs_file``) and end up in ``Manifest.declared_needs``. The grammar, one
item per comma (names are case-insensitive; ``-`` and ``_`` are the same)::

    cilium[=VERSION][+FEATURE...]   FEATURE: l7, ipsec, bandwidth_manager, netkit,
                                    bpf_masquerade (no iptables), native_routing (no tunnels)
    CAPABILITY                      bpf_syscall, bpf_jit, btf (co-re), kprobe_bpf, cgroup_bpf, xdp,
                                    af_xdp, sockmap, bpf_lsm, ringbuf, bpf_timer, cgroup_v2,
                                    io_uring, mptcp, psi, cpu_burst, smc_r
    kernel=VERSION                  a minimum kernel version (kernel>=5.10 works too)
    bpf_helper=NAME | bpf_map=NAME | bpf_prog=NAME     an entry of bcc's kernel-versions tables
    config=CONFIG_NAME              a kernel option that must be y or m
    bcc | bpftrace | libbpf-tools   tracing tools (their kernel requirements)
    sm-crypto[=LAYER] | sm2 | sm3 | sm4    SM algorithms (see migrate.smcrypto)

A needs file is YAML: a list (or ``needs:`` list) of such strings, or of
one-key mappings (``{cilium: "1.16", features: [ipsec]}``, ``{kernel: "5.10"}``).
Detected needs come from the facts: a Cilium agent, tracing tool packages,
pinned BPF objects, a kubelet on a cgroup v2 host.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from migrate import cilium, kerneldata
from migrate.errors import BadInput
from migrate.kerneldata import Record
from migrate.kernelcaps import (CAPABILITY_IDS, NO, UNKNOWN, YES, Cell, KernelProfile, bpf_item,
                                bpf_items, capability, option_cell, parse_version, vstr)
from migrate.smcrypto import LAYERS

ALIASES = {"co_re": "btf", "core": "btf", "iouring": "io_uring", "ring_buffer": "ringbuf",
           "timer": "bpf_timer", "smc": "smc_r", "cgroupv2": "cgroup_v2", "cgroup2": "cgroup_v2",
           "jit": "bpf_jit", "lsm": "bpf_lsm", "bpf": "bpf_syscall", "ebpf": "bpf_syscall",
           "kprobes": "kprobe_bpf"}
TOOLS = ("bcc", "bpftrace", "libbpf_tools")
SM_LAYERS = tuple(LAYERS)


class Need(Record):
    """One requirement of the host's workloads."""

    __slots__ = ("kind", "name", "version", "features", "origin", "evidence")
    _defaults = {"version": None, "features": (), "origin": "declared", "evidence": ""}
    kind: str  # capability | cilium | kernel_version | bpf_helper | bpf_map | bpf_prog | config | tool | sm_crypto
    name: str
    version: Optional[str]
    features: Tuple[str, ...]
    origin: str  # declared | detected
    evidence: str  # where it was declared or how it was detected

    @property
    def label(self) -> str:
        if self.kind == "kernel_version":
            return "kernel>=%s" % self.version
        if self.kind in ("bpf_helper", "bpf_map", "bpf_prog", "config"):
            return "%s=%s" % (self.kind, self.name)
        text = self.name + ("=%s" % self.version if self.version else "")
        return text + "".join("+" + f for f in self.features)

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "version": self.version,
                "features": list(self.features), "origin": self.origin, "evidence": self.evidence,
                "label": self.label}


def _norm(word: str) -> str:
    return word.strip().lower().replace("-", "_")


def _need(name: str, value: Optional[str], features: Sequence[str], where: str) -> Need:
    """One need from its parts; every problem is a one-line BadInput naming ``where``."""
    key = _norm(name)
    key = ALIASES.get(key, key)
    value = value.strip() if value is not None else None
    if value == "":
        raise BadInput("%s: %r has an empty value" % (where, name))
    if key == "cilium":
        if value is not None and not re.match(r"^v?\d+\.\d+(\.\d+)?$", value):
            raise BadInput("%s: cilium version %r is not like 1.16 or 1.16.3" % (where, value))
        words = [_norm(f) for f in features]
        bad = [f for f in words if f not in cilium.FEATURES]
        if bad:
            raise BadInput("%s: unknown Cilium feature %r (known: %s)" % (where, bad[0], ", ".join(sorted(cilium.FEATURES))))
        return Need("cilium", "cilium", value.lstrip("v") if value else None, tuple(words), "declared", where)
    if features:
        raise BadInput("%s: only cilium takes +features, not %r" % (where, name))
    if key == "kernel":
        if value is None or parse_version(value) is None:
            raise BadInput("%s: kernel needs a version, like kernel=5.10" % where)
        return Need("kernel_version", "kernel", value.lstrip(">= "), (), "declared", where)
    if key in ("bpf_helper", "bpf_map", "bpf_prog"):
        if value is None:
            raise BadInput("%s: %s needs a name, like %s=%s" % (where, key, key, {
                "bpf_helper": "ringbuf_output", "bpf_map": "ringbuf", "bpf_prog": "lsm"}[key]))
        kind = key.split("_")[1]
        item = _norm(value).replace("bpf_func_", "").replace("bpf_map_type_", "").replace("bpf_prog_type_", "").rstrip("()")
        if item not in bpf_items(kind):
            raise BadInput("%s: %s %r is not in bcc's kernel-versions tables" % (where, key, value))
        return Need(key, item, None, (), "declared", where)
    if key == "config" or key.startswith("config_"):
        option = (value if key == "config" else name.strip()) or ""
        option = option.upper()
        if not re.match(r"^(CONFIG_)?[A-Z0-9_]+$", option):
            raise BadInput("%s: %r is not a kernel option name" % (where, option))
        return Need("config", option if option.startswith("CONFIG_") else "CONFIG_" + option, None, (), "declared", where)
    if key in TOOLS:
        return Need("tool", key, value, (), "declared", where)
    if key in ("sm_crypto", "sm2", "sm3", "sm4"):
        layer = _norm(value) if value else None
        if key != "sm_crypto" and value is not None:
            raise BadInput("%s: %s takes no value" % (where, name))
        if layer is not None and layer not in SM_LAYERS:
            raise BadInput("%s: unknown SM crypto layer %r (known: %s)" % (where, value, ", ".join(SM_LAYERS)))
        return Need("sm_crypto", key, layer, (), "declared", where)
    if key in CAPABILITY_IDS:
        if value is not None:
            raise BadInput("%s: %s takes no value" % (where, name))
        return Need("capability", key, None, (), "declared", where)
    raise BadInput("%s: unknown need %r (known: cilium, kernel, bpf_helper, bpf_map, bpf_prog, config, "
                   "bcc, bpftrace, libbpf-tools, sm-crypto, sm2, sm3, sm4, %s)" % (where, name, ", ".join(CAPABILITY_IDS)))


def _parse_item(text: str, where: str) -> Need:
    text = text.strip()
    if not text:
        raise BadInput("%s: empty need" % where)
    m = re.match(r"^([A-Za-z0-9_-]+)\s*(>=|=)?\s*([^+]*?)\s*((?:\+[A-Za-z0-9_-]+)*)$", text)
    if not m:
        raise BadInput("%s: cannot read need %r (expected NAME, NAME=VALUE or cilium=VERSION+FEATURE)" % (where, text))
    name, op, value, feats = m.groups()
    if op and not value:
        raise BadInput("%s: %r has an empty value" % (where, text))
    if value and not op:
        raise BadInput("%s: cannot read need %r (expected NAME, NAME=VALUE or cilium=VERSION+FEATURE)" % (where, text))
    return _need(name, value if op else None, [f for f in feats.split("+") if f], where)


def parse_needs(spec: str, where: str = "--needs") -> Tuple[Need, ...]:
    """Needs from a comma-separated spec such as ``cilium=1.16,io_uring,sm-crypto``."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInput("%s: no needs given" % where)
    return tuple(_parse_item(item, where) for item in spec.split(","))


def load_needs_file(path: str) -> Tuple[Need, ...]:
    """Needs from a YAML file (see the module docstring); errors name the file and entry."""
    from migrate.yamlfile import read_yaml

    data = read_yaml(path, "needs file")
    if isinstance(data, dict) and set(data) == {"needs"}:
        data = data["needs"]
    if not isinstance(data, list) or not data:
        raise BadInput("%s: expected a non-empty list of needs (or a mapping with a 'needs' list)" % path)
    out: List[Need] = []
    for index, item in enumerate(data):
        where = "%s: needs[%d]" % (path, index)
        if isinstance(item, str):
            out.append(_parse_item(item, where))
        elif isinstance(item, dict):
            features = item.get("features", [])
            keys = [k for k in item if k != "features"]
            if len(keys) != 1 or not isinstance(keys[0], str):
                raise BadInput("%s: expected one need name per entry, got %s" % (where, sorted(map(str, item))))
            if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
                raise BadInput("%s: features must be a list of words" % where)
            value = item[keys[0]]
            if isinstance(value, float):
                # YAML reads 5.10 as the number 5.1: a version must be quoted to survive.
                raise BadInput("%s: quote the version of %s ('%s'): YAML reads an unquoted %s as a number"
                               % (where, keys[0], value, value))
            if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
                raise BadInput("%s: the value of %s must be a string" % (where, keys[0]))
            out.append(_need(keys[0], None if value is None else str(value), features, where))
        else:
            raise BadInput("%s: expected a string or a mapping, got %s" % (where, type(item).__name__))
    return tuple(out)


# -- detected needs --------------------------------------------------------------------------

# Package names that install each tracing tool (EL7/EL8/EL9 spellings).
TOOL_PACKAGES = {"bcc": ("bcc", "bcc-tools", "python-bcc", "python3-bcc"),
                 "bpftrace": ("bpftrace",),
                 "libbpf_tools": ("libbpf-tools", "bcc-libbpf-tools")}


def detect_needs(facts: Any) -> Tuple[Need, ...]:
    """Needs the facts show: Cilium, tracing tools, pinned BPF objects, kubelet on cgroup v2."""
    out: List[Need] = []
    sighting = cilium.detect(facts)
    if sighting is not None:
        out.append(Need("cilium", "cilium", sighting.version, (), "detected", "; ".join(sighting.evidence)))
    packages = {p.name: p for p in facts.packages or ()}
    for tool, names in TOOL_PACKAGES.items():
        found = [packages[n].nevra for n in names if n in packages]
        if found:
            out.append(Need("tool", tool, None, (), "detected", "installed: " + ", ".join(found)))
    pinned = facts.workloads.bpf_pinned or ()
    if pinned:
        out.append(Need("capability", "bpf_syscall", None, (), "detected",
                        "%d BPF objects pinned under /sys/fs/bpf (e.g. %s): a BPF loader runs here" % (len(pinned), pinned[0])))
    w = facts.workloads
    if w.kubelet_config or w.kubelet_cgroup_driver:
        if w.cgroup_v2:
            out.append(Need("capability", "cgroup_v2", None, (), "detected",
                            "kubelet (%s, cgroupDriver %s) runs on the unified cgroup v2 hierarchy" % (
                                w.kubelet_config or "/etc/sysconfig/kubelet", w.kubelet_cgroup_driver or "default")))
    return tuple(out)


def all_needs(facts: Any, manifest: Any) -> Tuple[Need, ...]:
    """Detected needs, then what the user declared (Manifest.declared_needs)."""
    declared = tuple(n for n in manifest.declared_needs if isinstance(n, Need))
    return detect_needs(facts) + declared


def capability_usage(facts: Any) -> Dict[str, str]:
    """Capabilities the source host is seen using today: capability id -> evidence."""
    used: Dict[str, str] = {}
    for need in detect_needs(facts):
        if need.kind == "capability":
            used.setdefault(need.name, need.evidence)
        elif need.kind == "tool":
            for cap in TOOL_CAPABILITIES[need.name]:
                used.setdefault(cap, "%s (%s)" % (need.name, need.evidence))
        elif need.kind == "cilium":
            for cap in ("bpf_syscall", "bpf_jit", "cgroup_bpf"):
                used.setdefault(cap, "Cilium (%s)" % need.evidence)
    if facts.workloads.cgroup_v2:
        used.setdefault("cgroup_v2", "the unified cgroup v2 hierarchy is mounted")
    cmdline = (facts.kernel.cmdline or "").split()
    if "psi=1" in cmdline:
        used.setdefault("psi", "the kernel command line enables it (psi=1)")
    return used


# -- evaluating a need against a kernel ---------------------------------------------------------

# What each tracing tool needs of the kernel (bcc: INSTALL.md "Kernel Configuration";
# libbpf-tools are CO-RE programs, which need kernel BTF; bpftrace attaches to kprobes).
TOOL_CAPABILITIES = {"bcc": ("bpf_syscall", "bpf_jit", "kprobe_bpf"),
                     "bpftrace": ("bpf_syscall", "kprobe_bpf"),
                     "libbpf_tools": ("bpf_syscall", "kprobe_bpf", "btf")}


def _combine(cells: Sequence[Tuple[str, Cell]]) -> Cell:
    for name, cell in cells:
        if cell.status == NO:
            return Cell(NO, "%s: %s" % (name, cell.evidence))
    pending = [(n, c) for n, c in cells if c.status != YES]
    if pending:
        return Cell(UNKNOWN, "; ".join("%s: %s" % (n, c.evidence) for n, c in pending))
    return Cell(YES, "; ".join("%s: %s" % (n, c.evidence) for n, c in cells))


def evaluate(need: Need, p: KernelProfile) -> Cell:
    """Whether a kernel meets a (non-Cilium, non-SM) need."""
    if need.kind == "capability":
        return capability(need.name).evaluate(p)
    if need.kind == "kernel_version":
        wanted = parse_version(need.version)
        if p.version is None:
            return Cell(UNKNOWN, "kernel version unknown")
        status = YES if p.version >= wanted else NO
        return Cell(status, "kernel %s %s %s" % (vstr(p.version), ">=" if status == YES else "<", need.version))
    if need.kind in ("bpf_helper", "bpf_map", "bpf_prog"):
        return bpf_item(p, need.kind.split("_")[1], need.name)
    if need.kind == "config":
        return option_cell(p, need.name)
    if need.kind == "tool":
        cells = [(cap, capability(cap).evaluate(p)) for cap in TOOL_CAPABILITIES[need.name]]
        if need.name == "bcc":
            req = kerneldata.table(kerneldata.BCC_CONFIG)
            cells += [(opt.split("=")[0], p.config.option(opt.split("=")[0])) for opt in req["required"]]
            minimum = req["min_kernel"]
            if p.version is not None and p.version < parse_version(minimum) and not p.family.backports:
                cells.append(("kernel", Cell(NO, "kernel %s < %s (bcc INSTALL.md)" % (vstr(p.version), minimum))))
        return _combine(cells)
    if need.kind == "cilium":
        result = cilium.evaluate(p, need.version, need.features)
        return Cell(result["status"], result["evidence"])
    return Cell(UNKNOWN, "%s needs are not a kernel question" % need.kind)
