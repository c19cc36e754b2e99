"""Checks that the target kernel meets what the host's workloads need of it.

Why it matters: tracing tools (bcc, bpftrace, CO-RE libbpf-tools that need
kernel BTF), BPF loaders that pin objects under /sys/fs/bpf, a kubelet on a
cgroup v2 host, and whatever the user declared (``--needs io_uring,kernel=5.10``,
``--needs-file``) stop working on a kernel without the feature. A need the
target kernel cannot meet is a blocker naming the missing option, helper or
version with its evidence; one the target's reference config cannot settle
(savedefconfig, excerpt, no config) is a warning to verify on a test host.
Cilium (checks/cilium_kernel.py) and SM crypto (checks/sm_readiness.py) needs
are checked by their own checks.

Facts: packages, workloads (bpf_pinned, kubelet_config, kubelet_cgroup_driver, cgroup_v2,
container_images, k8s_manifests, cni_configs), kernel.release, kernel.config, os.arch.
Manifest keys: kernel.flavours (version, release_example, config), declared_needs (--needs, --needs-file).
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, NotApplicable
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.kernelcaps import NO, UNKNOWN, target_profile
from migrate.manifests import Manifest
from migrate.needs import all_needs, evaluate

HANDLED_ELSEWHERE = ("cilium", "sm_crypto")


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    wanted = [n for n in all_needs(facts, manifest) if n.kind not in HANDLED_ELSEWHERE]
    if not wanted:
        raise NotApplicable("no kernel needs detected on the host or declared (--needs)")
    target = target_profile(manifest, arch=facts.os.arch)
    flavour = manifest.kernel_flavour()
    findings = []
    for need in wanted:
        result = evaluate(need, target)
        why = "%s (%s)" % ("declared in " + need.evidence if need.origin == "declared" else
                           "detected: " + need.evidence, need.kind)
        if result.status == NO:
            findings.append(Finding(
                id="kernel.need_unmet", severity="blocker",
                title="The %s kernel cannot provide %s" % (manifest.name, need.label),
                summary="Needed by the host's workloads, %s. The target kernel (%s) does not meet it: %s." % (
                    why, flavour.name, result.evidence),
                subjects=(need.label,),
                remediation=Remediation(hint="Choose a target kernel flavour that provides %s, or change the "
                                             "workload so it no longer needs it before migrating." % need.label)))
        elif result.status == UNKNOWN:
            findings.append(Finding(
                id="kernel.need_unconfirmed", severity="warning", overridable=True,
                title="Whether the %s kernel provides %s is not established" % (manifest.name, need.label),
                summary="Needed by the host's workloads, %s. The target's kernel data cannot settle it: %s." % (
                    why, result.evidence),
                subjects=(need.label,),
                remediation=Remediation(hint="Verify on a test host of the target (for a kernel option: "
                                             "grep it in /boot/config-$(uname -r)), then waive this finding.")))
    return findings


CHECK = Check(
    id="kernel.workload_needs",
    title="Target kernel meets the workloads' kernel needs",
    category="kernel",
    run=run,
    description=__doc__,
)
