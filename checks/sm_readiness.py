"""Checks SM2/SM3/SM4 (ShangMi) readiness of the target for what the host uses.

Why it matters: banks and government workloads use the Chinese SM algorithms
through OpenSSL (configuration lines, SM2 certificates under /etc/pki), through
Tongsuo/BabaSSL/GmSSL, or through the kernel (loaded sm2/sm3/sm4 modules, IMA,
module signing). Support differs sharply by layer: EL8/EL9 OpenSSL is built
"no-sm2 no-sm4", Anolis 8.8+ builds them in, the TencentOS 5.4 kernel has no SM
options at all, OpenCloudOS 9's 6.6 has them as modules. If the host uses an
algorithm today, or the user declared ``--needs sm-crypto``, and no layer of the
target that could serve it has it, that is a blocker; if the target's data
cannot settle it, a warning. Otherwise an info finding gives the target's
matrix (``migrate.smcrypto.sm_matrix`` has both sides with evidence).

Facts: workloads (openssl_sm_lines, sm2_certificates), packages, kmods.loaded,
crypto (proc_crypto, openssl_version, openssl lists), kernel.config, kernel.release, os.
Manifest keys: crypto (kernel, openssl, tongsuo, libgcrypt, coreutils_cksum_sm3),
kernel.flavours (config), declared_needs (sm-crypto, sm2, sm3, sm4).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.kernelcaps import NO, UNKNOWN, YES
from migrate.manifests import Manifest
from migrate.needs import all_needs
from migrate.smcrypto import LAYERS, best, need_layers, target_cells, usage

HINT = ("Provide the algorithms on the target before moving: an SM-enabled crypto library (Tongsuo, or an "
        "OpenSSL built with SM2/SM4), a kernel with the CONFIG_CRYPTO_SM* drivers, or a target whose layers "
        "have them; `migrate kernel diff`/the report's SM matrix shows every layer with its evidence.")


def _judge(cells: Dict, algorithms: Tuple[str, ...], layers: Tuple[str, ...]) -> Tuple[str, List[str]]:
    """Worst outcome over the algorithms, each served by the best of ``layers``."""
    worst, notes = YES, []
    for alg in algorithms:
        status, evidence = best(cells, layers, alg)
        if status != YES:
            notes.append("%s: %s" % (alg.upper(), "; ".join(evidence)))
        if status == NO or (status == UNKNOWN and worst == YES):
            worst = status
    return worst, notes


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    probe = facts.probe("workloads.sm_usage")
    if probe.failed:
        raise MissingFacts("SM usage (openssl.cnf, certificates under /etc/pki) could not be read: %s" % probe.message)
    cells = target_cells(manifest, facts.os.arch)
    findings = []
    blocked, unsure = [], []
    for use in usage(facts):
        status, notes = _judge(cells, use.algorithms, use.layers)
        if status == NO:
            blocked.append((use, notes))
        elif status == UNKNOWN:
            unsure.append((use, notes))
    if blocked:
        findings.append(Finding(
            id="sm.usage_unsupported_on_target", severity="blocker", overridable=True,
            title="%s lacks SM algorithms this host uses" % manifest.name,
            summary=" ".join("%s (%s, via %s): %s." % (u.subject, u.evidence, "/".join(u.layers), " ".join(n))
                             for u, n in blocked),
            subjects=tuple(u.subject for u, _ in blocked), remediation=Remediation(hint=HINT)))
    if unsure:
        findings.append(Finding(
            id="sm.usage_unconfirmed_on_target", severity="warning", overridable=True,
            title="Whether %s supports the SM algorithms this host uses is not established" % manifest.name,
            summary=" ".join("%s (%s, via %s): %s." % (u.subject, u.evidence, "/".join(u.layers), " ".join(n))
                             for u, n in unsure),
            subjects=tuple(u.subject for u, _ in unsure),
            remediation=Remediation(hint="Check the listed layers on a test host of the target (openssl list "
                                         "-digest-algorithms, /proc/crypto), then waive this finding.")))
    declared = [n for n in all_needs(facts, manifest) if n.kind == "sm_crypto"]
    for need in declared:
        algorithms, layers = need_layers(need)
        status, notes = _judge(cells, algorithms, layers)
        if status == NO:
            findings.append(Finding(
                id="sm.need_unmet", severity="blocker",
                title="%s cannot provide %s" % (manifest.name, need.label),
                summary="Declared in %s. %s." % (need.evidence, " ".join(notes)),
                subjects=(need.label,), remediation=Remediation(hint=HINT)))
        elif status == UNKNOWN:
            findings.append(Finding(
                id="sm.need_unconfirmed", severity="warning", overridable=True,
                title="Whether %s provides %s is not established" % (manifest.name, need.label),
                summary="Declared in %s. %s." % (need.evidence, " ".join(notes)),
                subjects=(need.label,),
                remediation=Remediation(hint="Check on a test host of the target, then waive this finding.")))
    if findings:
        return findings
    lacking = tuple("%s/%s" % (layer, alg) for layer in LAYERS for alg, c in cells[layer].items() if c.status == NO)
    matrix = "; ".join("%s: %s" % (layer, ", ".join("%s %s" % (alg.upper(), c.status) for alg, c in cells[layer].items()))
                       for layer in LAYERS)
    return [Finding(
        id="sm.readiness", severity="info",
        title="SM2/SM3/SM4 readiness of %s%s" % (
            manifest.name, " (lacks %d layer/algorithm pairs)" % len(lacking) if lacking else ""),
        summary="%s Target matrix: %s." % (
            "The declared SM needs (%s) are met and the host's SM use, if any, is served." % ", ".join(
                n.label for n in declared) if declared else
            "The host shows no SM algorithm use and no SM need was declared.", matrix),
        subjects=lacking)]


CHECK = Check(
    id="sm.crypto_readiness",
    title="SM2/SM3/SM4 readiness of the target for the host's use",
    category="crypto",
    run=run,
    description=__doc__,
)
