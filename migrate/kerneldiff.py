"""The kernel comparison of a source host and a target: capabilities, needs, Cilium.

``kernel_diff(facts, manifest)`` is JSON-ready (the JSON report and
``migrate kernel diff --json`` embed it); ``render_kernel_diff(diff)`` is its
terminal form. The checks (checks/kernel_*, checks/cilium_*) read the same
functions, so a finding and the diff never disagree.
"""
from __future__ import annotations

from typing import Any, Dict, List

from migrate import cilium, needs
from migrate.kernelcaps import (BPF_KINDS, CAPABILITIES, KernelProfile, bpf_inventory, capabilities, change,
                                source_profile, target_profile)

SCHEMA = 1


def _bpf_changes(source: KernelProfile, target: KernelProfile) -> Dict[str, Any]:
    src, tgt = bpf_inventory(source), bpf_inventory(target)
    out: Dict[str, Any] = {}
    for kind in BPF_KINDS:
        rows = {"gained": [], "lost": [], "unknown": []}
        counts = {"source": {}, "target": {}}
        for name in src[kind]:
            what = change(src[kind][name], tgt[kind][name])
            if what != "same":
                rows[what].append(name)
            for side, cell in (("source", src[kind][name]), ("target", tgt[kind][name])):
                counts[side][cell.status] = counts[side].get(cell.status, 0) + 1
        out[kind] = dict(rows, counts=counts, total=len(src[kind]))
    return out


def need_results(facts: Any, manifest: Any, source: KernelProfile, target: KernelProfile) -> List[Dict[str, Any]]:
    """Every kernel-related need (detected and declared) evaluated on both kernels."""
    out = []
    for need in needs.all_needs(facts, manifest):
        if need.kind == "sm_crypto":
            continue  # an SM need is answered by the SM readiness matrix (migrate.smcrypto)
        entry: Dict[str, Any] = {"need": need.to_dict()}
        if need.kind == "cilium":
            entry["source"] = cilium.evaluate(source, need.version, need.features)
            entry["target"] = cilium.evaluate(target, need.version, need.features)
        else:
            entry["source"] = needs.evaluate(need, source).to_dict()
            entry["target"] = needs.evaluate(need, target).to_dict()
        out.append(entry)
    return out


def kernel_diff(facts: Any, manifest: Any) -> Dict[str, Any]:
    """Source vs target kernel: capabilities, eBPF tables, needs and Cilium results (JSON-ready)."""
    source, target = source_profile(facts), target_profile(manifest, arch=facts.os.arch)
    src_caps, tgt_caps = capabilities(source), capabilities(target)
    used = needs.capability_usage(facts)
    caps = []
    for cap in CAPABILITIES:
        caps.append({"id": cap.id, "title": cap.title, "group": cap.group,
                     "source": src_caps[cap.id].to_dict(), "target": tgt_caps[cap.id].to_dict(),
                     "change": change(src_caps[cap.id], tgt_caps[cap.id]),
                     # "In use" only where the source offers it: a need the source cannot meet
                     # is a need (see "needs"), not a capability being used.
                     "used_on_source": used.get(cap.id) if src_caps[cap.id].status == "yes" else None})
    results = need_results(facts, manifest, source, target)
    return {"schema": SCHEMA, "target_id": manifest.id,
            "source": source.to_dict(), "target": target.to_dict(),
            "capabilities": caps, "bpf": _bpf_changes(source, target),
            "needs": results,
            "cilium": [r for r in results if r["need"]["kind"] == "cilium"]}


def _status(cell: Dict[str, Any]) -> str:
    return cell["status"]


def render_kernel_diff(diff: Dict[str, Any]) -> str:
    """Terminal text for `migrate kernel diff`."""
    lines = []
    src, tgt = diff["source"], diff["target"]
    lines.append("source  %s  (version %s, %s)" % (src["label"], src["version"] or "unknown", src["family"]))
    lines.append("        config: %s" % src["config"])
    lines.append("target  %s  (version %s, %s)" % (tgt["label"], tgt["version"] or "unknown", tgt["family"]))
    lines.append("        config: %s" % tgt["config"])
    lines.append("")
    lines.append("%-12s %-8s %-8s %-8s %s" % ("capability", "source", "target", "change", "title"))
    for cap in diff["capabilities"]:
        mark = "" if cap["change"] == "same" else cap["change"]
        lines.append("%-12s %-8s %-8s %-8s %s%s" % (cap["id"], _status(cap["source"]), _status(cap["target"]),
                                                    mark, cap["title"], " [in use]" if cap["used_on_source"] else ""))
    lines.append("")
    for kind, label in (("prog", "eBPF program types"), ("map", "eBPF map types"), ("helper", "eBPF helpers")):
        row = diff["bpf"][kind]
        lines.append("%s (%d): target %s; gained %d, lost %d, unknown %d" % (
            label, row["total"], ", ".join("%s %d" % kv for kv in sorted(row["counts"]["target"].items())),
            len(row["gained"]), len(row["lost"]), len(row["unknown"])))
        for what in ("lost", "gained"):
            if row[what]:
                lines.append("    %s: %s" % (what, ", ".join(row[what][:20]) + (" ..." if len(row[what]) > 20 else "")))
    if diff["needs"]:
        lines.append("")
        lines.append("needs (source -> target):")
        for entry in diff["needs"]:
            need = entry["need"]
            lines.append("  %-28s %-8s -> %-8s (%s: %s)" % (need["label"], entry["source"]["status"],
                                                          entry["target"]["status"], need["origin"],
                                                          need["evidence"][:100]))
            if entry["target"]["status"] != "yes":
                lines.append("      target: %s" % entry["target"]["evidence"][:300])
    return "\n".join(lines) + "\n"
