"""Kernel capability, workload-need and Cilium checks on real test hosts (tests/hosts/cilium.py).

The centos7-cilium host is centos7-minimal plus a Cilium 1.14.5 node's traces; facts come
from the real collector, findings from migrate.engine.assess, diffs from kernel_diff().
"""
import dataclasses
import json

import pytest

from factsutil import facts_for_root
from migrate.engine import assess, discover_checks
from migrate.kernelcaps import CAPABILITY_IDS
from migrate.kerneldiff import kernel_diff, render_kernel_diff
from migrate.manifests import load_manifest
from migrate.needs import detect_needs, parse_needs

pytestmark = pytest.mark.integration
DISCOVERY = discover_checks()
OURS = ("kernel.capabilities", "kernel.workload_needs", "cilium.kernel_requirements")


@pytest.fixture(scope="module")
def cilium_host():
    from hostbuild import build_host
    from hosts.cilium import centos7_cilium_spec
    return build_host(centos7_cilium_spec())


@pytest.fixture(scope="module")
def facts(cilium_host):
    return facts_for_root(cilium_host.root)


def results(facts, target, needs=""):
    manifest = load_manifest(target) if isinstance(target, str) else target
    if needs:
        manifest = dataclasses.replace(manifest, declared_needs=parse_needs(needs))
    return {r.check_id: r for r in assess(facts, manifest, discovery=DISCOVERY).results if r.check_id in OURS}


def findings(result, fid):
    return [f for f in result.findings if f.id == fid]


def test_the_host_shows_its_cilium_and_tools(facts):
    got = {(n.kind, n.name, n.version) for n in detect_needs(facts)}
    assert got == {("cilium", "cilium", "1.14.5"), ("tool", "bcc", None), ("capability", "bpf_syscall", None)}
    assert facts.workloads.cgroup_v2 is False and facts.workloads.kubelet_cgroup_driver == "systemd"


def test_cilium_too_new_for_centos7_is_a_reason_to_move_to_opencloudos9(facts):
    res = results(facts, "opencloudos-9")["cilium.kernel_requirements"]
    assert [(f.id, f.severity, f.subjects) for f in res.findings] == [
        ("cilium.reason_to_migrate", "info", ("cilium 1.14.5",))]


def test_cilium_requirement_for_source_and_target_with_evidence(facts):
    diff = kernel_diff(facts, load_manifest("opencloudos-9"))
    json.dumps(diff)
    [entry] = diff["cilium"]
    assert entry["need"]["version"] == "1.14.5" and entry["need"]["origin"] == "detected"
    assert "quay.io/cilium/cilium:v1.14.5" in entry["need"]["evidence"]
    src, tgt = entry["source"], entry["target"]
    assert src["requirement"]["cilium"] == "1.13-1.15" and src["requirement"]["min_kernel"] == "4.19.57"
    assert src["status"] == "no" and src["kernel_version"]["status"] == "no"
    assert src["kernel"]["release"] == "3.10.0-1160.119.1.el7.x86_64"
    assert {"CONFIG_CGROUP_BPF"} <= set(src["missing"])
    assert tgt["status"] == "yes" and tgt["kernel_version"]["status"] == "yes"
    assert tgt["options"]["base"]["CONFIG_BPF"]["status"] == "yes"   # implied through BPF_SYSCALL
    assert all(cell["evidence"] for group in tgt["options"].values() for cell in group.values())


def test_cilium_on_targets_that_cannot_or_may_not_run_it(facts):
    blocked = results(facts, "anolis-7")["cilium.kernel_requirements"]        # RHCK 3.10
    [f] = findings(blocked, "cilium.target_kernel_unsupported")
    assert f.severity == "blocker" and f.subjects[0] == "cilium 1.14.5" and not f.overridable
    unsure = results(facts, "anolis-8")["cilium.kernel_requirements"]         # ANCK 5.10, no config
    [f] = findings(unsure, "cilium.target_kernel_unconfirmed")
    assert f.severity == "warning" and f.overridable and "CONFIG_BPF_SYSCALL" in f.subjects
    newer = results(facts, "opencloudos-8", "cilium=1.18")["cilium.kernel_requirements"]
    assert [(f.id, f.subjects) for f in newer.findings if f.severity == "blocker"] == [
        ("cilium.target_kernel_unsupported", ("cilium 1.18",))]


def test_capability_diff_against_opencloudos9(facts):
    diff = kernel_diff(facts, load_manifest("opencloudos-9"))
    caps = {c["id"]: c for c in diff["capabilities"]}
    assert tuple(caps) == CAPABILITY_IDS
    assert (caps["btf"]["source"]["status"], caps["btf"]["target"]["status"], caps["btf"]["change"]) == \
        ("no", "yes", "gained")
    assert caps["io_uring"]["target"]["status"] == "unknown"                  # savedefconfig
    assert caps["bpf_syscall"]["used_on_source"] and caps["bpf_syscall"]["change"] == "same"
    assert caps["cgroup_bpf"]["used_on_source"] is None                      # the source lacks it
    assert diff["bpf"]["helper"]["counts"]["target"] == {"yes": diff["bpf"]["helper"]["total"]}
    assert diff["source"]["family"] == "rhel7" and diff["target"]["version"] == "6.6"
    text = render_kernel_diff(diff)
    assert all(cap in text for cap in CAPABILITY_IDS) and "cilium=1.14.5" in text
    res = results(facts, "opencloudos-9")["kernel.capabilities"]
    assert [f.id for f in res.findings] == ["kernel.capability_gained"]
    assert {"btf", "cgroup_bpf", "bpf_lsm", "mptcp"} <= set(res.findings[0].subjects)


def test_declared_needs_against_opencloudos8(facts):
    res = results(facts, "opencloudos-8", "io_uring,kernel=5.10,bpf_map=ringbuf,libbpf-tools,config=CONFIG_SMC")
    got = {(f.id, f.severity, f.subjects) for f in res["kernel.workload_needs"].findings}
    assert got == {("kernel.need_unmet", "blocker", ("kernel>=5.10",)),
                   ("kernel.need_unmet", "blocker", ("config=CONFIG_SMC",)),
                   ("kernel.need_unconfirmed", "warning", ("bpf_map=ringbuf",))}
    diff = kernel_diff(facts, dataclasses.replace(load_manifest("opencloudos-8"),
                                                  declared_needs=parse_needs("io_uring,libbpf-tools")))
    by_label = {e["need"]["label"]: e for e in diff["needs"]}
    assert (by_label["io_uring"]["source"]["status"], by_label["io_uring"]["target"]["status"]) == ("no", "yes")
    assert by_label["libbpf_tools"]["target"]["status"] == "yes"
    assert by_label["bcc"]["need"]["origin"] == "detected"


def test_unconfirmed_need_on_a_savedefconfig_target(facts):
    res = results(facts, "opencloudos-9", "io_uring")["kernel.workload_needs"]
    assert [(f.id, f.subjects) for f in res.findings] == [("kernel.need_unconfirmed", ("io_uring",))]


def test_a_used_capability_the_target_lacks_is_a_warning(facts, tmp_path):
    """A target kernel without the bpf() syscall (the OpenCloudOS 8 config with it switched off)."""
    manifest = load_manifest("opencloudos-8")
    flavour = manifest.kernel_flavour()
    original = open(manifest.data_file(flavour.config.file), encoding="utf-8").read()
    edited = original.replace("CONFIG_BPF_SYSCALL=y", "# CONFIG_BPF_SYSCALL is not set")
    assert edited != original
    (tmp_path / "no-bpf.config").write_text(edited)
    config = dataclasses.replace(flavour.config, file="no-bpf.config")
    variant = dataclasses.replace(manifest, path=str(tmp_path / "opencloudos-8.yaml"),
                                  kernel_flavours=(dataclasses.replace(flavour, config=config),))
    res = results(facts, variant)
    [lost] = findings(res["kernel.capabilities"], "kernel.capability_lost")
    assert lost.severity == "warning" and lost.overridable and "bpf_syscall" in lost.subjects
    needs = {(f.id, f.subjects) for f in res["kernel.workload_needs"].findings}
    assert ("kernel.need_unmet", ("bpf_syscall",)) in needs and ("kernel.need_unmet", ("bcc",)) in needs


def test_not_applicable_without_cilium_or_needs(built_hosts):
    minimal = facts_for_root(built_hosts("centos7-minimal").root)
    res = results(minimal, "opencloudos-9")
    assert res["cilium.kernel_requirements"].status == "not_applicable"
    assert res["kernel.workload_needs"].status == "not_applicable"
    assert res["kernel.capabilities"].status == "findings"


@pytest.mark.parametrize("target", ["opencloudos-9", "opencloudos-8"])
def test_assess_json_carries_the_kernel_diff_and_sm_matrix(cilium_host, target):
    """`migrate assess --json` end to end: capability diff, Cilium result with evidence, SM matrix."""
    from conftest import run_cli
    result = run_cli("assess", "--root", str(cilium_host.root), "--target", target, "--json", "--allow-incomplete")
    report = result.json()
    diff, sm = report["kernel_diff"], report["sm_matrix"]
    assert "error" not in diff and "error" not in sm, (diff.get("error"), sm.get("error"))
    assert [c["id"] for c in diff["capabilities"]] == list(CAPABILITY_IDS)
    [entry] = diff["cilium"]
    assert entry["source"]["status"] == "no" and entry["target"]["status"] == "yes"
    assert entry["source"]["evidence"] and entry["target"]["evidence"]
    assert set(sm["source"]) == set(sm["target"]) == set(sm["layers"])
    ids = {f["id"]: f for f in report["findings"]}
    assert ids["cilium.reason_to_migrate"]["severity"] == "info"
    lacks = set(ids["sm.readiness"]["subjects"])
    if target == "opencloudos-8":       # the TencentOS 5.4 kernel has no SM options
        assert {"kernel/sm2", "kernel/sm3", "kernel/sm4"} <= lacks
        assert {sm["target"]["kernel"][a]["status"] for a in ("sm2", "sm3", "sm4")} == {"no"}
    else:
        assert not {s for s in lacks if s.startswith("kernel/")}
