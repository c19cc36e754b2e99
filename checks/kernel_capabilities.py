"""Compares what the source kernel offers with what the target kernel offers.

Why it matters: eBPF features (JIT, BTF/CO-RE, cgroup BPF, XDP, sockmap, BPF
LSM, ring buffer, timers) and cloud-native kernel features (cgroup v2, io_uring,
MPTCP, PSI, CPU burst, SMC-R) differ between the CentOS kernels and the
targets' kernels (TencentOS 5.4, OpenCloudOS 6.6, ANCK). A capability the host
uses today and the target kernel lacks breaks the workload after the move
(warning); one the host has but shows no use of is worth knowing (info), and so
is one the target adds (info). Capabilities neither config nor version settles
stay unknown and are reported by `migrate kernel diff`, not here.

Facts: kernel.release, kernel.config, kernel.btf, kernel.cmdline, os.arch, packages,
workloads (bpf_pinned, cgroup_v2, container_images, k8s_manifests, cni_configs, kubelet).
Manifest keys: kernel.flavours (version, release_example, config: file/kind/caveats).
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.kernelcaps import CAPABILITIES, capabilities, change, source_profile, target_profile
from migrate.manifests import Manifest
from migrate.needs import capability_usage


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    probe = facts.probe("kernel.release")
    if probe.failed:
        raise MissingFacts("the source kernel release could not be read (kernel.release %s: %s)"
                           % (probe.status, probe.message))
    if not facts.kernel.release:
        raise NotApplicable("no kernel on the source (a container image or an empty root)")
    source, target = source_profile(facts), target_profile(manifest, arch=facts.os.arch)
    src, tgt = capabilities(source), capabilities(target)
    used = capability_usage(facts)
    lost, dropped, gained = [], [], []
    for cap in CAPABILITIES:
        what = change(src[cap.id], tgt[cap.id])
        if what == "lost":
            (lost if cap.id in used else dropped).append(cap)
        elif what == "gained":
            gained.append(cap)

    def detail(caps: list, with_use: bool) -> str:
        return " ".join("%s: source %s; target %s%s." % (
            cap.title, src[cap.id].evidence, tgt[cap.id].evidence,
            "; used today: " + used[cap.id] if with_use else "") for cap in caps)

    findings = []
    flavour = manifest.kernel_flavour()
    if lost:
        findings.append(Finding(
            id="kernel.capability_lost", severity="warning", overridable=True,
            title="%s lacks kernel features this host uses: %s" % (
                manifest.name, ", ".join(c.id for c in lost)),
            summary="The host uses these today and the target kernel (%s) does not offer them. %s" % (
                flavour.name, detail(lost, True)),
            subjects=tuple(c.id for c in lost),
            remediation=Remediation(hint="Check each workload that relies on these features: pick a target "
                                         "kernel flavour that has them, reconfigure the workload, or accept "
                                         "the loss with a waiver.")))
    if dropped:
        findings.append(Finding(
            id="kernel.capability_lost_unused", severity="info",
            title="%s does not offer %s (no use seen on this host)" % (
                manifest.name, ", ".join(c.id for c in dropped)),
            summary="The source kernel offers these and the target kernel (%s) does not; nothing on the host "
                    "shows that it uses them. %s" % (flavour.name, detail(dropped, False)),
            subjects=tuple(c.id for c in dropped)))
    if gained:
        findings.append(Finding(
            id="kernel.capability_gained", severity="info",
            title="%s adds kernel features: %s" % (manifest.name, ", ".join(c.id for c in gained)),
            summary="The target kernel (%s) offers these and the source kernel does not. %s" % (
                flavour.name, detail(gained, False)),
            subjects=tuple(c.id for c in gained)))
    return findings


CHECK = Check(
    id="kernel.capabilities",
    title="Kernel capabilities kept, lost and gained on the target",
    category="kernel",
    run=run,
    description=__doc__,
)
