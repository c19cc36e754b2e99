"""The kernel capability model, Cilium profiles, needs and the SM kernel layer on real kernel configs.

Configs: the CentOS 7/8 ones in tests/data/kernel (tests/data/SOURCES.md) and the targets'
reference configs in migrate/manifests/data/kernel-configs (migrate/manifests/data/SOURCES.md).
"""
import json

import pytest

from conftest import TESTS
from migrate import cilium, kerneldata, needs
from migrate.errors import BadInput
from migrate.kernelcaps import (CAPABILITY_IDS, NO, UNKNOWN, YES, bpf_item, capabilities, config_profile,
                                host_config_kind, target_profile)
from migrate.kernelconfig import KernelConfig, load_config_file
from migrate.kernelfamilies import rhel_minor
from migrate.manifests import load_manifest
from migrate.smcrypto import kernel_cell

C7 = str(TESTS / "data/kernel/centos7-kernel-3.10.0-1160.119.1.el7-x86_64.config")
C8 = str(TESTS / "data/kernel/centos8-kernel-4.18.0-348.7.1.el8_5-x86_64.config")
C7_RELEASE = "3.10.0-1160.119.1.el7.x86_64"
C8_RELEASE = "4.18.0-348.7.1.el8_5.x86_64"


def centos7():
    return config_profile(C7_RELEASE, load_config_file(C7, "full"), side="source")


def centos8(release=C8_RELEASE):
    # The file is an SRPM-merged option list (tests/data/SOURCES.md): absent options are unknown.
    return config_profile(release, load_config_file(C8, "srpm_merged"), side="source")


@pytest.fixture(scope="module")
def oc9():
    return target_profile(load_manifest("opencloudos-9"))


@pytest.fixture(scope="module")
def oc8():
    return target_profile(load_manifest("opencloudos-8"))


# -- configs: full, savedefconfig, excerpt, none ----------------------------------------------

def test_full_config_absent_option_is_no(oc8):
    caps = capabilities(oc8)
    assert caps["bpf_lsm"].status == NO and "CONFIG_BPF_LSM" in caps["bpf_lsm"].evidence
    assert caps["mptcp"].status == NO
    assert caps["smc_r"].status == NO             # "# CONFIG_SMC is not set"
    assert caps["io_uring"].status == YES and caps["btf"].status == YES


def test_savedefconfig_absent_option_is_unknown_never_no(oc9):
    caps = capabilities(oc9)
    assert caps["io_uring"].status == UNKNOWN     # CONFIG_IO_URING not listed in tencent.config
    assert caps["smc_r"].status == UNKNOWN
    assert caps["bpf_lsm"].status == YES and caps["mptcp"].status == YES
    assert oc9.config.option("CONFIG_NETKIT").status == UNKNOWN
    assert all(c.status in (YES, UNKNOWN) for c in caps.values())


def test_selected_symbols_are_implied_in_a_savedefconfig(oc9):
    bpf = oc9.config.option("CONFIG_BPF")
    assert bpf.status == YES and "CONFIG_BPF_SYSCALL" in bpf.evidence
    assert oc9.config.option("CONFIG_SCHEDSTATS").status == YES      # LATENCYTOP=y selects it
    assert oc9.config.option("CONFIG_FIB_RULES").status == YES       # IP_MULTIPLE_TABLES=y selects it
    assert oc9.config.option("CONFIG_PERF_EVENTS").status == YES     # CGROUP_PERF=y depends on it


def test_excerpt_and_missing_configs_say_unknown():
    anck = target_profile(load_manifest("anolis-8"), "anck-4-19")
    assert anck.config.config.kind == "excerpt"
    assert anck.config.option("CONFIG_CRYPTO_SM2").status == YES
    assert anck.config.option("CONFIG_DEBUG_INFO_BTF").status == UNKNOWN
    assert capabilities(anck)["io_uring"].status == YES             # backport shown by the config
    rhck = target_profile(load_manifest("anolis-7"))                 # no config in the manifest
    assert {c.status for c in capabilities(rhck).values()} == {UNKNOWN}


def test_host_config_kind_detects_srpm_merged_lists():
    assert host_config_kind(load_config_file(C7, "full").options)[0] == "full"
    kind, caveat = host_config_kind(load_config_file(C8, "full").options)
    assert kind == "srpm_merged" and "CONFIG_BPF" in caveat


# -- versions and backports ----------------------------------------------------------------------

def test_bcc_versions_give_no_only_without_backports(oc9, oc8):
    assert bpf_item(oc9, "map", "ringbuf").status == YES
    assert bpf_item(oc8, "map", "ringbuf").status == UNKNOWN        # TencentOS 5.4 carries backports
    assert bpf_item(centos8(), "helper", "timer_init").status == UNKNOWN
    # the same config read as a plain 5.4 kernel, without TencentOS's backports
    vanilla = config_profile("5.4.0", kerneldata.flavour_config(load_manifest("opencloudos-8")))
    assert vanilla.family.id == "upstream"
    assert bpf_item(vanilla, "map", "ringbuf").status == NO
    assert bpf_item(vanilla, "prog", "BPF_PROG_TYPE_XDP").status == YES


def test_rhel_minor_from_the_release_map():
    assert rhel_minor(C8_RELEASE) == (8, 5)
    assert rhel_minor("4.18.0-553.5.1.el8_10.x86_64") == (8, 10)
    assert rhel_minor("4.18.0-372.9.1.el8.x86_64") == (8, 6)
    assert rhel_minor(C7_RELEASE) == (7, 9)
    assert rhel_minor("6.6.102-5.2.an23.x86_64") is None


# -- Cilium ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version,label", [("1.14.5", "1.13-1.15"), ("1.16", "1.16-1.17"),
                                           ("1.18.2", ">=1.18"), ("1.0", "1.0"), ("1.9.1", "1.1-1.12")])
def test_cilium_release_rows(version, label):
    assert cilium.release_for(version).label == label


@pytest.mark.parametrize("version", ["1.13", "1.14.5", "1.16", "1.18"])
def test_centos7_kernel_cannot_run_cilium_1_13_and_later(version):
    result = cilium.evaluate(centos7(), version)
    assert result["status"] == NO and result["kernel_version"]["status"] == NO
    assert "CONFIG_CGROUP_BPF" in result["missing"]                  # absent from the full 3.10 config
    json.dumps(result)


def test_cilium_unknown_version_on_3_10_is_still_no():
    assert cilium.kernel_version_cell(None, centos7()).status == NO


@pytest.mark.parametrize("release,version,expected", [
    (C8_RELEASE, "1.14", YES),                          # "4.18 on RHEL8" counts as 4.19.57
    (C8_RELEASE, "1.16", NO),                           # needs RHEL 8.6
    ("4.18.0-372.9.1.el8.x86_64", "1.16", YES),
    ("4.18.0-372.9.1.el8.x86_64", "1.18", NO),          # needs RHEL 8.10
    ("4.18.0-553.5.1.el8_10.x86_64", "1.18", YES),
])
def test_cilium_rhel8_equivalents(release, version, expected):
    assert cilium.evaluate(centos8(release), version)["kernel_version"]["status"] == expected


def test_cilium_on_targets(oc8, oc9):
    assert cilium.evaluate(oc8, "1.16")["status"] == YES
    assert cilium.evaluate(oc8, "1.18")["status"] == NO              # 5.4 < 5.10, no equivalent named
    ipsec = cilium.evaluate(oc8, "1.16", ["ipsec"])
    assert ipsec["options"]["ipsec"]["CONFIG_INET_XFRM_MODE_TUNNEL"]["status"] == YES   # built in since 5.2
    on9 = cilium.evaluate(oc9, "1.16", ["netkit"])
    assert on9["status"] == UNKNOWN and "CONFIG_NETKIT" in on9["unknown"]
    assert cilium.groups_for(["bpf_masquerade", "l7"]) == ("base", "tunneling_and_routing", "l7_and_fqdn_policies")


# -- SM in the kernel -------------------------------------------------------------------------------

def test_opencloudos9_config_has_the_sm4_avx2_driver(oc9):
    cell = kernel_cell(oc9, "sm4")
    assert cell.status == YES and cell.detail["CONFIG_CRYPTO_SM4_AESNI_AVX2_X86_64"] == "m"
    assert kernel_cell(oc9, "sm3").detail["CONFIG_CRYPTO_SM3_AVX_X86_64"] == "m"


def test_centos8_x86_64_config_has_no_sm3_sm4_and_sm2_stays_unknown():
    p = centos8()
    assert kernel_cell(p, "sm3").status == NO and kernel_cell(p, "sm4").status == NO
    # CONFIG_CRYPTO_SM4_ARM64_CE=m in this merged file belongs to arm64: not counted on x86_64
    assert "CONFIG_CRYPTO_SM4_ARM64_CE" not in kernel_cell(p, "sm4").detail
    assert kernel_cell(p, "sm2").status == UNKNOWN                   # 4.18 with RHEL backports


def test_tencentos_5_4_kernel_has_no_sm(oc8):
    assert [kernel_cell(oc8, a).status for a in ("sm2", "sm3", "sm4")] == [NO, NO, NO]
    assert [kernel_cell(centos7(), a).status for a in ("sm2", "sm3", "sm4")] == [NO, NO, NO]


# -- needs ----------------------------------------------------------------------------------------------

def test_parse_needs():
    got = needs.parse_needs("cilium=1.16+ipsec+l7, io_uring,sm-crypto, kernel>=5.10, bpf_helper=ringbuf_output,"
                            "config=smc, libbpf-tools, co-re, sm-crypto=openssl")
    assert [(n.kind, n.name, n.version, n.features) for n in got] == [
        ("cilium", "cilium", "1.16", ("ipsec", "l7")), ("capability", "io_uring", None, ()),
        ("sm_crypto", "sm_crypto", None, ()), ("kernel_version", "kernel", "5.10", ()),
        ("bpf_helper", "ringbuf_output", None, ()), ("config", "CONFIG_SMC", None, ()),
        ("tool", "libbpf_tools", None, ()), ("capability", "btf", None, ()),
        ("sm_crypto", "sm_crypto", "openssl", ())]
    assert all(n.origin == "declared" and n.evidence == "--needs" for n in got)


@pytest.mark.parametrize("spec", ["", "frobnicate", "cilium=latest", "cilium=1.16+warp", "io_uring=1",
                                  "kernel", "bpf_map=nope", "sm-crypto=hsm", "a b", "io_uring+x", "config=a-b"])
def test_bad_needs_are_one_line_bad_input(spec):
    with pytest.raises(BadInput) as err:
        needs.parse_needs(spec)
    assert "\n" not in str(err.value) and str(err.value).startswith("--needs")


def test_needs_file(tmp_path):
    path = tmp_path / "needs.yaml"
    path.write_text("needs:\n  - io_uring\n  - {cilium: '1.16', features: [ipsec]}\n  - kernel: '5.10'\n"
                    "  - sm-crypto\n")
    got = needs.load_needs_file(str(path))
    assert [n.label for n in got] == ["io_uring", "cilium=1.16+ipsec", "kernel>=5.10", "sm_crypto"]
    assert all(n.evidence.startswith(str(path)) for n in got)


@pytest.mark.parametrize("text,where", [("needs: []\n", "non-empty"), ("- [1, 2]\n", "needs[0]"),
                                        ("- {cilium: '1.16', kernel: '5.4'}\n", "needs[0]"),
                                        ("- io_uring\n- warp\n", "needs[1]"), ("needs: [\n", "not valid YAML"),
                                        ("- kernel: 5.10\n", "quote the version")])
def test_bad_needs_files_say_where(tmp_path, text, where):
    path = tmp_path / "needs.yaml"
    path.write_text(text)
    with pytest.raises(BadInput) as err:
        needs.load_needs_file(str(path))
    assert where in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(BadInput):
        needs.load_needs_file(str(tmp_path / "missing.yaml"))


def test_need_evaluation(oc8, oc9):
    ev = {spec: needs.evaluate(needs.parse_needs(spec)[0], oc8).status
          for spec in ("kernel=5.10", "kernel=5.4", "io_uring", "bpf_lsm", "bpf_map=ringbuf", "config=CONFIG_SMC",
                       "libbpf-tools", "bcc")}
    assert ev == {"kernel=5.10": NO, "kernel=5.4": YES, "io_uring": YES, "bpf_lsm": NO,
                  "bpf_map=ringbuf": UNKNOWN, "config=CONFIG_SMC": NO, "libbpf-tools": YES, "bcc": YES}
    assert needs.evaluate(needs.parse_needs("io_uring")[0], oc9).status == UNKNOWN
    assert set(CAPABILITY_IDS) >= {"bpf_jit", "btf", "cgroup_bpf", "xdp", "sockmap", "bpf_lsm", "ringbuf",
                                   "bpf_timer", "cgroup_v2", "io_uring", "mptcp", "psi", "cpu_burst", "smc_r"}


def test_data_tables_are_the_shared_copies():
    """The packaged tables are byte-identical to the team's data collection."""
    import hashlib
    import os

    from conftest import SHARED
    from migrate.manifests import DATA_DIR
    pairs = [("ebpf/bcc-kernel-versions.json", "ebpf/bcc-kernel-versions.json"),
             ("ebpf/bcc-kernel-config-requirements.json", "ebpf/bcc-kernel-config-requirements.json"),
             ("ebpf/cilium-requirements.json", "ebpf/cilium-requirements.json"),
             ("ebpf/rhel-kernel-release-map.json", "kernel-configs/rhel-kernel-release-map.json"),
             ("crypto/sm-support-matrix.json", "crypto/sm-support-matrix.json")]
    for ours, theirs in pairs:
        original = SHARED / "data" / theirs
        if not original.exists():
            pytest.skip("../shared/data is not available here")
        digest = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (os.path.join(DATA_DIR, ours), original)]
        assert digest[0] == digest[1], ours
    sources = open(os.path.join(DATA_DIR, "SOURCES.md"), encoding="utf-8").read()
    assert all(ours.split("/")[1] in sources for ours, _ in pairs)


def test_target_config_is_read_once():
    manifest = load_manifest("opencloudos-9")
    assert kerneldata.flavour_config(manifest).options is kerneldata.flavour_config(manifest).options
    assert isinstance(kerneldata.flavour_config(manifest), KernelConfig)


def test_a_reference_config_for_another_architecture_says_nothing():
    manifest = load_manifest("opencloudos-9")
    arm = target_profile(manifest, arch="aarch64")
    assert arm.config.config is None and "x86_64" in arm.config.describe()
    assert capabilities(arm)["bpf_lsm"].status == UNKNOWN
    assert kernel_cell(arm, "sm4", manifest=manifest).detail == {"manifest": "module"}   # falls back to the manifest
    assert target_profile(manifest, arch="x86_64").config.config is not None
