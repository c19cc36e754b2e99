"""SM2/SM3/SM4 readiness: the matrix and the sm.crypto_readiness check on real test hosts.

centos8-sm (tests/hosts/cilium.py) uses SM: OpenSSL config lines, a real SM2/SM3
certificate made by the machine's OpenSSL 3, a Tongsuo package. centos7-cilium uses none.
"""
import dataclasses
import json

import pytest

from factsutil import facts_for_root
from migrate.engine import assess, discover_checks
from migrate.facts import LoadedModule, Probe
from migrate.manifests import load_manifest
from migrate.needs import parse_needs
from migrate.smcrypto import sm_matrix

pytestmark = pytest.mark.integration
DISCOVERY = discover_checks()
CHECK = "sm.crypto_readiness"


@pytest.fixture(scope="module")
def sm_facts():
    from hostbuild import build_host
    from hosts.cilium import centos8_sm_spec
    return facts_for_root(build_host(centos8_sm_spec()).root)


@pytest.fixture(scope="module")
def plain_facts():
    from hostbuild import build_host
    from hosts.cilium import centos7_cilium_spec
    return facts_for_root(build_host(centos7_cilium_spec()).root)


def check(facts, target, needs=""):
    manifest = load_manifest(target)
    if needs:
        manifest = dataclasses.replace(manifest, declared_needs=parse_needs(needs))
    return [r for r in assess(facts, manifest, discovery=DISCOVERY).results if r.check_id == CHECK][0]


def statuses(side):
    return {layer: {alg: cell["status"] for alg, cell in row.items()} for layer, row in side.items()}


def test_source_matrix_of_a_centos8_host_using_sm(sm_facts):
    matrix = sm_matrix(sm_facts, load_manifest("opencloudos-9"))
    json.dumps(matrix)
    src = statuses(matrix["source"])
    assert src["openssl"] == {"sm2": "no", "sm3": "yes", "sm4": "no"}     # EL8: no-sm2 no-sm4
    assert src["tongsuo"] == {"sm2": "yes", "sm3": "yes", "sm4": "yes"}
    assert src["kernel"]["sm3"] == "no" and src["kernel"]["sm4"] == "no"
    assert src["kernel"]["sm2"] == "unknown"                              # RHEL 8 backports
    assert src["coreutils"] == {"sm3": "no"} and src["libgcrypt"]["sm4"] == "no"
    assert all(cell["evidence"] for row in matrix["source"].values() for cell in row.values())
    usage = {u["subject"]: u for u in matrix["usage"]}
    cert = usage["/etc/pki/tls/certs/sm2-gateway.pem"]
    assert cert["algorithms"] == ["sm2", "sm3"]
    assert usage["/etc/pki/tls/openssl.cnf:16"]["algorithms"] == ["sm2", "sm3", "sm4"]
    assert "tongsuo-8.3.2-1.el8.x86_64" in usage


def test_target_matrices(sm_facts):
    oc9 = sm_matrix(sm_facts, load_manifest("opencloudos-9"))
    assert statuses(oc9["target"])["kernel"] == {"sm2": "yes", "sm3": "yes", "sm4": "yes"}
    assert oc9["target"]["kernel"]["sm4"]["detail"]["CONFIG_CRYPTO_SM4_AESNI_AVX2_X86_64"] == "m"
    assert statuses(oc9["target"])["openssl"] == {"sm2": "unknown", "sm3": "unknown", "sm4": "unknown"}
    oc8 = statuses(sm_matrix(sm_facts, load_manifest("opencloudos-8"))["target"])
    assert oc8["kernel"] == {"sm2": "no", "sm3": "no", "sm4": "no"}
    assert oc8["ima"] == {"sm2": "no", "sm3": "no"}
    an8 = statuses(sm_matrix(sm_facts, load_manifest("anolis-8"))["target"])
    assert an8["openssl"] == {"sm2": "yes", "sm3": "yes", "sm4": "yes"}


def test_usage_the_target_may_not_support_is_a_warning(sm_facts):
    res = check(sm_facts, "opencloudos-8")
    [f] = res.findings
    assert (f.id, f.severity, f.overridable) == ("sm.usage_unconfirmed_on_target", "warning", True)
    assert "/etc/pki/tls/certs/sm2-gateway.pem" in f.subjects and "tongsuo-8.3.2-1.el8.x86_64" in f.subjects
    an8 = check(sm_facts, "anolis-8")                   # Anolis 8.8+ OpenSSL serves the config and cert
    assert [(f.id, f.subjects) for f in an8.findings] == [
        ("sm.usage_unconfirmed_on_target", ("tongsuo-8.3.2-1.el8.x86_64",))]


def test_usage_the_target_lacks_is_a_blocker(sm_facts):
    loaded = (sm_facts.kmods.loaded or ()) + (LoadedModule("sm4_generic", 16384, 0, (), "Live", None),)
    facts = dataclasses.replace(sm_facts, kmods=dataclasses.replace(sm_facts.kmods, loaded=loaded))
    res = check(facts, "opencloudos-8")
    blockers = [f for f in res.findings if f.severity == "blocker"]
    assert [(f.id, f.subjects) for f in blockers] == [("sm.usage_unsupported_on_target", ("module sm4_generic",))]
    assert blockers[0].remediation.hint
    assert not [f for f in check(facts, "opencloudos-9").findings if f.severity == "blocker"]


def test_declared_sm_needs(sm_facts, plain_facts):
    res = check(plain_facts, "opencloudos-8", "sm-crypto=kernel,sm-crypto")
    got = {(f.id, f.severity, f.subjects) for f in res.findings}
    assert got == {("sm.need_unmet", "blocker", ("sm_crypto=kernel",)),
                   ("sm.need_unconfirmed", "warning", ("sm_crypto",))}
    assert [f.id for f in check(plain_facts, "opencloudos-9", "sm-crypto=kernel").findings] == ["sm.readiness"]
    assert [f.id for f in check(plain_facts, "anolis-8", "sm4").findings] == ["sm.readiness"]


def test_no_sm_use_gives_the_matrix_as_info(plain_facts):
    res = check(plain_facts, "opencloudos-8")
    [f] = res.findings
    assert (f.id, f.severity) == ("sm.readiness", "info")
    assert {"kernel/sm2", "kernel/sm3", "kernel/sm4"} <= set(f.subjects)   # what the 5.4 kernel lacks
    [f9] = check(plain_facts, "opencloudos-9").findings
    assert not [s for s in f9.subjects if s.startswith("kernel/")]
    src = statuses(sm_matrix(plain_facts, load_manifest("opencloudos-9"))["source"])
    assert src["openssl"] == {"sm2": "no", "sm3": "no", "sm4": "no"}      # OpenSSL 1.0.2k
    assert src["kernel"] == {"sm2": "no", "sm3": "no", "sm4": "no"}       # full 3.10 config


def test_openssl_list_output_wins_over_version_rules(sm_facts):
    crypto = dataclasses.replace(sm_facts.crypto, openssl_digests=("SHA256", "SM3"),
                                 openssl_ciphers=("AES-128-CBC", "SM4-CBC"), openssl_public_key=("RSA",))
    probes = dict(sm_facts.probes, **{"crypto.openssl_algorithms": Probe("ok")})
    facts = dataclasses.replace(sm_facts, crypto=crypto, probes=probes)
    src = statuses(sm_matrix(facts, load_manifest("opencloudos-9"))["source"])
    assert src["openssl"] == {"sm2": "no", "sm3": "yes", "sm4": "yes"}


def test_unreadable_sm_usage_skips_the_check(sm_facts):
    probes = dict(sm_facts.probes, **{"workloads.sm_usage": Probe("denied", "/etc/pki: Permission denied")})
    res = check(dataclasses.replace(sm_facts, probes=probes), "opencloudos-9")
    assert res.status == "skipped" and "Permission denied" in res.reason
