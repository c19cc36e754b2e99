"""Cilium's kernel requirements per Cilium version, and Cilium found on a host.

Data: ebpf/cilium-requirements.json, a transcription of Cilium's
Documentation/operations/system_requirements.rst with the history of the
minimum kernel per Cilium release (each row cites the cilium/cilium pull
request that changed it). Cilium states its minimum as "X or equivalent" and
names the equivalents (4.18 on RHEL 8 / 8.6 / 8.10): those rows are applied to
RHEL-family kernels through their minor release (migrate.kernelfamilies).

Feature groups map to the documented option lists: ``base`` (always),
``iptables_masquerading`` (the default, dropped with ``+bpf_masquerade``),
``tunneling_and_routing`` (the default, dropped with ``+native_routing``), and on
request ``l7`` (L7/FQDN policies), ``ipsec``, ``bandwidth_manager``, ``netkit``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

from migrate import kerneldata
from migrate.kerneldata import Record
from migrate.kernelcaps import NO, UNKNOWN, YES, Cell, KernelProfile, option_cell, parse_version, vstr

GROUPS = ("base", "iptables_masquerading", "tunneling_and_routing", "l7_and_fqdn_policies", "ipsec",
          "bandwidth_manager", "netkit_device_mode")
DEFAULT_GROUPS = ("base", "iptables_masquerading", "tunneling_and_routing")
# Feature words users write -> (group added, group removed)
FEATURES: Dict[str, Tuple[Optional[str], Optional[str]]] = {
    "l7": ("l7_and_fqdn_policies", None), "fqdn": ("l7_and_fqdn_policies", None),
    "l7_and_fqdn_policies": ("l7_and_fqdn_policies", None),
    "ipsec": ("ipsec", None),
    "bandwidth_manager": ("bandwidth_manager", None), "bandwidth": ("bandwidth_manager", None),
    "netkit": ("netkit_device_mode", None), "netkit_device_mode": ("netkit_device_mode", None),
    "bpf_masquerade": (None, "iptables_masquerading"),
    "native_routing": (None, "tunneling_and_routing"),
    "iptables_masquerading": ("iptables_masquerading", None),
    "tunneling": ("tunneling_and_routing", None), "tunneling_and_routing": ("tunneling_and_routing", None),
}
SOURCE = "ebpf/cilium-requirements.json (cilium/cilium Documentation/operations/system_requirements.rst @00c88111)"


class Release(Record):
    """One row of the minimum-kernel history: a range of Cilium versions."""

    __slots__ = ("label", "low", "high", "min_kernel", "equivalent", "evidence")
    label: str
    low: Tuple[int, ...]
    high: Optional[Tuple[int, ...]]  # inclusive minor, None = open-ended
    min_kernel: str
    equivalent: Optional[str]
    evidence: str

    def to_dict(self) -> Dict[str, Any]:
        return {"cilium": self.label, "min_kernel": self.min_kernel, "equivalent": self.equivalent,
                "evidence": self.evidence}


def _minor(text: str) -> Tuple[int, ...]:
    parts = [int(p) for p in re.findall(r"\d+", text)[:2]]
    return tuple(parts + [0] * (2 - len(parts)))


@lru_cache(maxsize=None)
def releases() -> Tuple[Release, ...]:
    out = []
    for row in kerneldata.table(kerneldata.CILIUM)["minimum_kernel_by_cilium_version"]:
        label = row["cilium"]
        if label.startswith(">="):
            low, high = _minor(label[2:]), None
        elif "-" in label:
            first, last = label.split("-", 1)
            low, high = _minor(first), _minor(last)
        else:
            low = high = _minor(label)
        out.append(Release(label, low, high, row["min_kernel"], row.get("equivalent"), row["evidence"]))
    return tuple(out)


def release_for(version: Optional[str]) -> Optional[Release]:
    if not version:
        return None
    minor = _minor(version)
    if len(re.findall(r"\d+", version)) < 2:
        return None
    for rel in releases():
        if minor >= rel.low and (rel.high is None or minor <= rel.high):
            return rel
    return None


def groups_for(features: Sequence[str]) -> Tuple[str, ...]:
    """The option groups a Cilium deployment with these feature words needs."""
    groups = list(DEFAULT_GROUPS)
    for word in features:
        add, drop = FEATURES[word]
        if add and add not in groups:
            groups.append(add)
        if drop and drop in groups:
            groups.remove(drop)
    return tuple(g for g in GROUPS if g in groups)


def group_options(group: str) -> List[str]:
    """CONFIG_ names of one group; "CONFIG_INET{,6}_ESP" stands for the IPv4 and IPv6 options."""
    out = []
    for item in kerneldata.table(kerneldata.CILIUM)["kernel_config_requirements"][group]["options"]:
        name = item.split("=")[0]
        if "{,6}" in name:
            out += [name.replace("{,6}", ""), name.replace("{,6}", "6")]
        else:
            out.append(name)
    return out


# -- the minimum kernel --------------------------------------------------------------------

def _equivalent_applies(rel: Release, p: KernelProfile) -> Optional[Cell]:
    """Cilium's "or equivalent" rows name RHEL kernels: does this kernel qualify?"""
    if not rel.equivalent or p.family.id != "rhel8":
        return None
    m = re.search(r"RHEL ?(\d+)(?:\.(\d+))?", rel.equivalent)
    if not m:
        return None
    wanted = (int(m.group(1)), int(m.group(2))) if m.group(2) else (int(m.group(1)), 0)
    if p.rhel_minor is None:
        return Cell(UNKNOWN, "Cilium %s accepts \"%s\" instead of %s; this RHEL-compatible 4.18 kernel's minor "
                    "release is not known (%s)" % (rel.label, rel.equivalent, rel.min_kernel, rel.evidence))
    if p.rhel_minor >= wanted:
        return Cell(YES, "Cilium %s accepts \"%s\" instead of %s and this kernel (%s) is RHEL %d.%d's (%s)" % (
            rel.label, rel.equivalent, rel.min_kernel, p.release, p.rhel_minor[0], p.rhel_minor[1], rel.evidence))
    return Cell(NO, "Cilium %s needs %s or \"%s\"; this kernel (%s) is RHEL %d.%d's (%s)" % (
        rel.label, rel.min_kernel, rel.equivalent, p.release, p.rhel_minor[0], p.rhel_minor[1], rel.evidence))


def kernel_version_cell(rel: Optional[Release], p: KernelProfile) -> Cell:
    if rel is None:
        lowest = min(releases(), key=lambda r: parse_version(r.min_kernel))
        if p.version is not None and p.version < parse_version(lowest.min_kernel):
            return Cell(NO, "kernel %s is older than the minimum of any Cilium release (%s for Cilium %s; %s)" % (
                vstr(p.version), lowest.min_kernel, lowest.label, SOURCE))
        return Cell(UNKNOWN, "Cilium version unknown, so its minimum kernel is unknown (%s)" % SOURCE)
    needed = parse_version(rel.min_kernel)
    if p.version is None:
        return Cell(UNKNOWN, "kernel version unknown; Cilium %s needs %s (%s)" % (rel.label, rel.min_kernel, rel.evidence))
    if p.version >= needed:
        return Cell(YES, "kernel %s >= %s, the minimum for Cilium %s (%s)" % (
            vstr(p.version), rel.min_kernel, rel.label, rel.evidence))
    equivalent = _equivalent_applies(rel, p)
    if equivalent is not None:
        return equivalent
    return Cell(NO, "kernel %s < %s, the minimum for Cilium %s, and Cilium names no equivalent for it%s (%s)" % (
        vstr(p.version), rel.min_kernel, rel.label,
        " (its equivalents: %s)" % rel.equivalent if rel.equivalent else "", rel.evidence))


def evaluate(p: KernelProfile, version: Optional[str], features: Sequence[str] = ()) -> Dict[str, Any]:
    """Whether a kernel meets one Cilium version's requirements: JSON-ready, with evidence."""
    rel = release_for(version)
    kernel = kernel_version_cell(rel, p)
    groups = groups_for(features)
    options: Dict[str, Dict[str, Dict[str, str]]] = {}
    missing, unknown = [], []
    for group in groups:
        options[group] = {}
        for name in group_options(group):
            cell = option_cell(p, name)
            options[group][name] = cell.to_dict()
            if cell.status == NO:
                missing.append(name)
            elif cell.status == UNKNOWN:
                unknown.append(name)
    if kernel.status == NO or missing:
        status = NO
    elif kernel.status == UNKNOWN or unknown:
        status = UNKNOWN
    else:
        status = YES
    parts = [kernel.evidence]
    if missing:
        parts.append("options not available: " + ", ".join(missing))
    if unknown:
        parts.append("options not established: " + ", ".join(unknown))
    return {"cilium_version": version, "requirement": rel.to_dict() if rel else None,
            "groups": list(groups), "kernel": p.to_dict(), "kernel_version": kernel.to_dict(),
            "options": options, "missing": missing, "unknown": unknown, "status": status,
            "evidence": "; ".join(parts)}


# -- Cilium on the host ---------------------------------------------------------------------

AGENT_IMAGE = re.compile(r"(?:^|/)cilium/cilium(?:-[a-z]+)?:v?(\d+\.\d+(?:\.\d+)?)")
ANY_IMAGE = re.compile(r"(?:^|/)cilium/[a-z0-9-]+:v?(\d+\.\d+(?:\.\d+)?)")


class Sighting(Record):
    """Cilium seen on the host: its version (None when nothing says) and where it was seen."""

    __slots__ = ("version", "evidence")
    version: Optional[str]
    evidence: Tuple[str, ...]


def _newest(versions: Sequence[str]) -> Optional[str]:
    return max(versions, key=lambda v: tuple(int(x) for x in v.split("."))) if versions else None


def detect(facts: Any) -> Optional[Sighting]:
    """Cilium from container images, k8s manifests, CNI configs and pinned BPF objects."""
    w = facts.workloads
    agent, other, evidence = [], [], []
    for image in w.container_images or ():
        m = AGENT_IMAGE.search(image.ref)
        if m:
            agent.append(m.group(1))
            evidence.append("image %s (%s)" % (image.ref, image.source))
        elif ANY_IMAGE.search(image.ref):
            other.append(ANY_IMAGE.search(image.ref).group(1))
            evidence.append("image %s (%s)" % (image.ref, image.source))
    for manifest in w.k8s_manifests:
        for ref in manifest.images:
            m = AGENT_IMAGE.search(ref) or ANY_IMAGE.search(ref)
            if m:
                (agent if AGENT_IMAGE.search(ref) else other).append(m.group(1))
                evidence.append("image %s in %s" % (ref, manifest.path))
    for conf in w.cni_configs:
        if any(t.startswith("cilium") for t in conf.types):
            evidence.append("CNI config %s (type %s)" % (conf.path, ", ".join(conf.types)))
    pinned = [p for p in (w.bpf_pinned or ()) if "cilium" in p.rsplit("/", 1)[-1]]
    if pinned:
        evidence.append("%d Cilium objects pinned under /sys/fs/bpf (e.g. %s)" % (len(pinned), pinned[0]))
    if not evidence:
        return None
    return Sighting(_newest(agent) or _newest(other), tuple(evidence))
