"""Checks a Cilium deployment's kernel requirements on the source and the target kernel.

Why it matters: each Cilium release has a minimum kernel (4.9.17 up to 1.12,
4.19.57 for 1.13-1.15, 5.4 for 1.16-1.17, 5.10 from 1.18, with RHEL 8's 4.18 as
the documented equivalent) and needs kernel options per feature (base eBPF,
iptables masquerading, tunnelling, L7/FQDN, IPsec, bandwidth manager, netkit).
Cilium is found on the host (agent image in docker/containerd, k8s manifests,
the Cilium CNI config, objects pinned under /sys/fs/bpf) or declared
(``--needs cilium=1.16+ipsec``). A target kernel that cannot run it is a
blocker; one whose reference config cannot settle an option is a warning; a
Cilium version too new for the source kernel that the target runs is a reason
to migrate (info).

Facts: workloads (container_images, k8s_manifests, cni_configs, bpf_pinned), kernel.release,
kernel.config, os.arch.
Manifest keys: kernel.flavours (version, release_example, config), declared_needs (--needs, --needs-file).
"""
from __future__ import annotations

from typing import List

from migrate import cilium
from migrate.engine import Check, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.kernelcaps import NO, UNKNOWN, YES, source_profile, target_profile
from migrate.manifests import Manifest
from migrate.needs import all_needs


def _subject(need) -> str:
    return "cilium %s" % (need.version or "(version unknown)") + "".join("+" + f for f in need.features)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    wanted = [n for n in all_needs(facts, manifest) if n.kind == "cilium"]
    if not wanted:
        raise NotApplicable("no Cilium on the host (images, manifests, CNI config, pinned objects) and none declared")
    source, target = source_profile(facts), target_profile(manifest, arch=facts.os.arch)
    flavour = manifest.kernel_flavour()
    findings = []
    for need in wanted:
        src = cilium.evaluate(source, need.version, need.features)
        tgt = cilium.evaluate(target, need.version, need.features)
        subject = _subject(need)
        origin = ("declared in %s" % need.evidence) if need.origin == "declared" else ("found: %s" % need.evidence)
        if tgt["status"] == NO:
            findings.append(Finding(
                id="cilium.target_kernel_unsupported", severity="blocker",
                title="The %s kernel cannot run %s" % (manifest.name, subject),
                summary="Cilium (%s) on the target kernel %s: %s." % (origin, flavour.name, tgt["evidence"]),
                subjects=(subject,) + tuple(tgt["missing"]),
                remediation=Remediation(hint="Pick a Cilium release whose minimum kernel and options the target "
                                             "kernel meets, or a target kernel flavour that meets this release's "
                                             "(Cilium system requirements: docs.cilium.io).")))
        elif tgt["status"] == UNKNOWN:
            findings.append(Finding(
                id="cilium.target_kernel_unconfirmed", severity="warning", overridable=True,
                title="Whether the %s kernel runs %s is not established" % (manifest.name, subject),
                summary="Cilium (%s) on the target kernel %s: %s." % (origin, flavour.name, tgt["evidence"]),
                subjects=(subject,) + tuple(tgt["unknown"]),
                remediation=Remediation(hint="Check the listed options on a test host of the target "
                                             "(/boot/config-$(uname -r)) or run `cilium status` there, then "
                                             "waive this finding.")))
        elif tgt["status"] == YES and src["status"] == NO:
            findings.append(Finding(
                id="cilium.reason_to_migrate", severity="info",
                title="%s needs a newer kernel than this host's; %s meets it" % (subject, manifest.name),
                summary="Cilium (%s) on the source kernel: %s. On the target kernel %s: %s." % (
                    origin, src["evidence"], flavour.name, tgt["evidence"]),
                subjects=(subject,)))
    return findings


CHECK = Check(
    id="cilium.kernel_requirements",
    title="Cilium's kernel requirements on the source and target kernels",
    category="kernel",
    run=run,
    description=__doc__,
)
