"""Kernel-module checks on the real test hosts and on small plain-file roots.

Target side: the OpenCloudOS-8-shaped test repository (tests/hosts/targets.py),
a tiny real repository built here when a case needs a kernel package the test
repository lacks, and the shipped manifests with their reference kernel configs
(OpenCloudOS 8: full 5.4 config; OpenCloudOS 9: savedefconfig; Anolis 8's
default ANCK 5.10 flavour: none). The manifest loader does not attach the Leapp
driver-deprecation dataset yet (checks may not read files); `with_driver_data`
attaches it the way it will, read with the project's own loader.
"""
import dataclasses
from typing import Any, Optional

import pytest

from checkutil import by_id, c7, k8s, run  # noqa: F401 (fixtures)
from factsutil import facts_for_root
from migrate.manifests import Manifest, load_manifest
from migrate.manifests.leappdata import load_driver_data
from migrate.snapshot import load_target_packages



def with_driver_data(manifest: Manifest) -> Manifest:
    """The manifest's driver data is a cached property: nothing to attach any more."""
    assert manifest.driver_deprecations
    return manifest


def with_snapshot(manifest: Manifest, snapshot) -> Manifest:
    return dataclasses.replace(manifest, packages=snapshot, packages_source=snapshot.source)




@pytest.fixture(scope="module")
def oc8_snapshot():
    from hosts.targets import opencloudos8_repo
    return load_target_packages(str(opencloudos8_repo()), warn=None)


def modules_root(make_root, modules, tainted=None, name="root"):
    """A plain-file root of a CentOS 8 x86_64 host whose /proc/modules lists `modules`."""
    files = {"etc/os-release": 'NAME="CentOS Linux"\nID="centos"\nVERSION_ID="8"\n',
             "etc/centos-release": "CentOS Linux release 8.5.2111\n",
             "usr/bin/bash": ELF_X86_64,
             "lib/modules/4.18.0-348.7.1.el8_5.x86_64/modules.dep": "",
             "proc/modules": "".join("%s 16384 0 - Live 0xffffffffc0000000%s\n"
                                     % (m, " (%s)" % t if t else "") for m, t in modules)}
    if tainted is not None:
        files["proc/sys/kernel/tainted"] = "%d\n" % tainted
    return facts_for_root(make_root(files, name=name))


# ELF header of an x86_64 executable (e_machine 0x3e), enough for the collector's arch probe.
ELF_X86_64 = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" + b"\0" * 44


# -- kmod.target_availability ---------------------------------------------------------------

def test_k8s_modules_all_ship_in_the_target_repo(k8s, oc8_snapshot):
    result = run("kmod.target_availability", k8s, with_snapshot(load_manifest("opencloudos-8"), oc8_snapshot))
    assert (result.status, result.findings) == ("passed", ())


def test_without_repodata_or_config_availability_is_skipped_not_guessed(k8s):
    """Anolis 8's default kernel (ANCK 5.10) has no reference config in the manifest."""
    result = run("kmod.target_availability", k8s, load_manifest("anolis-8"))
    assert result.status == "skipped" and "--target-repo" in result.reason


def test_full_target_config_finds_modules_merged_upstream(k8s):
    """OpenCloudOS 8 runs 5.4: nf_conntrack_ipv4 (gone in 4.19) and nf_nat_ipv4 (5.1) are merged."""
    result = run("kmod.target_availability", k8s, load_manifest("opencloudos-8"))
    found = by_id(result)
    assert set(found) == {"kmod.merged_in_target"}
    assert found["kmod.merged_in_target"].subjects == ("nf_conntrack_ipv4", "nf_nat_ipv4")
    assert found["kmod.merged_in_target"].severity == "warning"
    assert "wireguard" not in found["kmod.merged_in_target"].subjects  # out of tree: not this check's


def test_modules_missing_from_the_target_packages_without_a_config(c7, oc8_snapshot):
    """The test repo's kernel has no file for these; with no config (the test repo as the
    repodata of Anolis 8, whose ANCK flavour has none) built in or gone cannot be told."""
    result = run("kmod.target_availability", c7, with_snapshot(load_manifest("anolis-8"), oc8_snapshot))
    finding = by_id(result)["kmod.not_in_target_packages"]
    assert finding.severity == "warning" and finding.overridable
    assert finding.subjects == ("ata_piix", "dm_mod", "libata", "virtio", "virtio_pci", "virtio_ring")


def test_the_config_settles_built_in_modules_next_to_the_snapshot(c7, oc8_snapshot):
    """CONFIG_ATA, BLK_DEV_DM, VIRTIO, VIRTIO_PCI are =y in the 5.4 config; ata_piix is not in the table."""
    manifest = with_snapshot(load_manifest("opencloudos-8"), oc8_snapshot)
    finding = by_id(run("kmod.target_availability", c7, manifest))["kmod.not_in_target_packages"]
    assert finding.subjects == ("ata_piix",)


def test_a_module_the_full_config_turns_off_is_a_blocker(make_root):
    facts = modules_root(make_root, [("wireguard", None), ("xfs", None)])
    result = run("kmod.target_availability", facts, load_manifest("opencloudos-8"))
    finding = by_id(result)["kmod.unavailable_in_target"]
    assert (finding.severity, finding.overridable, finding.subjects) == ("blocker", True, ("wireguard",))
    assert finding.remediation.commands


def test_module_outside_the_table_is_unknown_never_missing(make_root):
    facts = modules_root(make_root, [("ata_piix", None), ("xfs", None)])
    result = run("kmod.target_availability", facts, load_manifest("opencloudos-8"))
    found = by_id(result)
    assert set(found) == {"kmod.availability_unknown"}
    assert found["kmod.availability_unknown"].subjects == ("ata_piix",)
    assert found["kmod.availability_unknown"].severity == "info"


def test_savedefconfig_absence_is_unknown_not_off(make_root):
    """CONFIG_NF_NAT is not listed in the OpenCloudOS 9 savedefconfig: unknown, not missing."""
    facts = modules_root(make_root, [("nf_nat", None), ("xfs", None)])
    found = by_id(run("kmod.target_availability", facts, load_manifest("opencloudos-9")))
    assert set(found) == {"kmod.availability_unknown"} and found["kmod.availability_unknown"].subjects == ("nf_nat",)


def test_alias_of_a_new_module_is_reported_as_renamed(make_root):
    """A target kernel package with xt_MASQUERADE and no ip6t_MASQUERADE (an alias of it since 5.2)."""
    facts = modules_root(make_root, [("ip6t_MASQUERADE", None)])
    from hosts.common import fake_module
    from hostbuild import Pkg, build_repo
    release = "5.4.119-19.0009.x86_64"
    repo = build_repo([Pkg(name="kernel-core", version="5.4.119", release="19.0009", arch="x86_64",
                           files={"/lib/modules/%s/kernel/net/netfilter/xt_MASQUERADE.ko.xz" % release:
                                  fake_module("xt_MASQUERADE", release)})], name="kmod-alias-test")
    manifest = with_snapshot(load_manifest("opencloudos-8"), load_target_packages(str(repo), warn=None))
    found = by_id(run("kmod.target_availability", facts, manifest))
    assert set(found) == {"kmod.renamed_in_target"}
    assert (found["kmod.renamed_in_target"].severity, found["kmod.renamed_in_target"].subjects) == (
        "info", ("ip6t_MASQUERADE",))


def test_offline_root_without_proc_modules_is_skipped(make_root):
    facts = facts_for_root(make_root({"etc/hostname": "h\n"}))
    result = run("kmod.target_availability", facts, load_manifest("opencloudos-8"))
    assert result.status == "skipped" and "kmods.loaded" in result.reason


# -- kmod.out_of_tree --------------------------------------------------------------------------

def test_k8s_wireguard_kmod_and_dkms_zfs_must_be_rebuilt(k8s, oc8_snapshot):
    manifest = with_snapshot(load_manifest("opencloudos-8"), oc8_snapshot)
    result = run("kmod.out_of_tree", k8s, manifest)
    finding = by_id(result)["kmod.out_of_tree_rebuild"]
    assert (finding.severity, finding.overridable, finding.subjects) == ("blocker", True, ("wireguard", "zfs"))
    commands = finding.remediation.commands
    assert ("dkms", "status") in commands and ("rpm", "-qi", "kmod-wireguard") in commands
    release = [c for c in commands if c[:2] == ("dkms", "autoinstall")][0][3]
    assert release.startswith("4.18.0-348.7.1") and release.endswith(".x86_64")  # the test repo's kernel
    assert "kmod-wireguard-1.0.20211208" in finding.summary and "zfs/2.1.5" in finding.summary


def test_without_a_target_release_no_dkms_command_is_invented(k8s):
    finding = by_id(run("kmod.out_of_tree", k8s, load_manifest("opencloudos-8")))["kmod.out_of_tree_rebuild"]
    assert not [c for c in finding.remediation.commands if c[:2] == ("dkms", "autoinstall")]


def test_module_the_target_kernel_ships_itself_is_not_rebuilt(k8s):
    """OpenCloudOS 9's 6.6 config builds WireGuard (=m): remove kmod-wireguard instead."""
    found = by_id(run("kmod.out_of_tree", k8s, load_manifest("opencloudos-9")))
    assert found["kmod.out_of_tree_rebuild"].subjects == ("zfs",)
    superseded = found["kmod.out_of_tree_in_target_kernel"]
    assert (superseded.severity, superseded.subjects) == ("warning", ("wireguard",))
    assert ("rpm", "-e", "--test", "kmod-wireguard") in superseded.remediation.commands


def test_host_without_out_of_tree_modules_passes(c7):
    assert run("kmod.out_of_tree", c7, load_manifest("anolis-7")).status == "passed"


def test_loaded_out_of_tree_module_outside_lib_modules(make_root):
    facts = modules_root(make_root, [("acme_probe", "POE")])
    finding = by_id(run("kmod.out_of_tree", facts, load_manifest("opencloudos-8")))["kmod.out_of_tree_rebuild"]
    assert finding.subjects == ("acme_probe",)


# -- kmod.removed_drivers ----------------------------------------------------------------------

def test_target_without_driver_data_is_not_applicable(k8s):
    result = run("kmod.removed_drivers", k8s, load_manifest("opencloudos-8"))
    assert result.status == "not_applicable" and "removed_drivers" in result.reason


def test_targets_without_driver_data_are_not_applicable(k8s):
    result = run("kmod.removed_drivers", k8s, load_manifest("opencloudos-8"))
    assert result.status == "not_applicable" and "removed_drivers is null" in result.reason


def test_k8s_uses_no_removed_driver(k8s):
    assert run("kmod.removed_drivers", k8s, with_driver_data(load_manifest("anolis-8"))).status == "passed"


def test_loaded_removed_driver_blocks_and_device_level_removals_are_unassessed(make_root):
    facts = modules_root(make_root, [("floppy", None), ("megaraid_sas", None), ("xfs", None)])
    found = by_id(run("kmod.removed_drivers", facts, with_driver_data(load_manifest("anolis-8"))))
    removed = found["kmod.driver_removed_in_target"]
    assert (removed.severity, removed.overridable, removed.subjects) == ("blocker", True, ("floppy",))
    assert ("modprobe", "-r", "floppy") in removed.remediation.commands
    unassessed = found["kmod.driver_devices_unassessed"]
    assert (unassessed.severity, unassessed.subjects) == ("info", ("megaraid_sas",))


def test_target_packages_that_ship_a_removed_driver_win_over_the_dataset(make_root):
    from hosts.common import fake_module
    from hostbuild import Pkg, build_repo
    release = "5.10.134-19.an8.x86_64"
    repo = build_repo([Pkg(name="kernel", version="5.10.134", release="19.an8", arch="x86_64",
                           files={"/lib/modules/%s/kernel/drivers/block/floppy.ko.xz" % release:
                                  fake_module("floppy", release)})], name="kmod-floppy-test")
    facts = modules_root(make_root, [("floppy", None)])
    manifest = with_snapshot(with_driver_data(load_manifest("anolis-8")), load_target_packages(str(repo), warn=None))
    found = by_id(run("kmod.removed_drivers", facts, manifest))
    assert set(found) == {"kmod.driver_removed_but_shipped"}
    assert found["kmod.driver_removed_but_shipped"].severity == "info"


# -- kmod.kernel_taint -------------------------------------------------------------------------

def test_k8s_out_of_tree_and_unsigned_taint(k8s):
    found = by_id(run("kmod.kernel_taint", k8s, load_manifest("opencloudos-8")))
    assert set(found) == {"kmod.kernel_tainted"}
    assert found["kmod.kernel_tainted"].subjects == ("TAINT_OOT_MODULE", "TAINT_UNSIGNED_MODULE")
    assert found["kmod.kernel_tainted"].severity == "warning"
    assert "wireguard (OE)" in found["kmod.kernel_tainted"].summary


def test_untainted_kernel_passes(c7):
    assert run("kmod.kernel_taint", c7, load_manifest("anolis-7")).status == "passed"


def test_taint_bits_split_into_relevant_and_informational(make_root):
    # P (bit 0), W (bit 9), K (bit 15), and bit 28, which is not in the upstream table
    facts = modules_root(make_root, [("nvidia", "POE")], tainted=1 | 512 | 32768 | (1 << 28))
    found = by_id(run("kmod.kernel_taint", facts, load_manifest("opencloudos-8")))
    assert found["kmod.kernel_tainted"].subjects == ("TAINT_PROPRIETARY_MODULE", "TAINT_LIVEPATCH")
    assert found["kmod.kernel_taint_info"].subjects == ("TAINT_WARN", "TAINT_BIT_28")
    assert found["kmod.kernel_taint_info"].severity == "info"


def test_uncaptured_taint_is_skipped(make_root):
    facts = facts_for_root(make_root({"etc/hostname": "h\n"}))
    assert run("kmod.kernel_taint", facts, load_manifest("opencloudos-8")).status == "skipped"


# -- end to end ------------------------------------------------------------------------------

@pytest.mark.integration
def test_cli_assess_of_k8s_reports_the_out_of_tree_blocker(built_hosts):
    from conftest import run_cli
    from migrate import exitcodes
    result = run_cli("assess", "--root", str(built_hosts("centos8-k8s").root), "--target", "opencloudos-8",
                     "--json", "--allow-incomplete")
    assert result.code == exitcodes.BLOCKERS, result
    report = result.json()
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["kmod.out_of_tree"] == "findings" and statuses["kmod.kernel_taint"] == "findings"
    assert statuses["kmod.removed_drivers"] == "not_applicable"
    blockers = {f["id"]: f["subjects"] for f in report["findings"] if f["severity"] == "blocker"}
    assert blockers["kmod.out_of_tree_rebuild"] == ["wireguard", "zfs"]
