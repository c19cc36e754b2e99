"""System checks on the real test hosts, small plain-file roots, real small file systems
(tmpfs in a private mount namespace) and live collections of this machine.

Facts always come from the collector: in-process on a root, as `migrate collect` in a
private mount namespace (so mounts never leak to the machine), or piped to an
interpreter run as `nobody`. Cases that need a mount namespace are skipped where
`unshare --mount` is not permitted.
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import write_tree
from checkutil import by_id, c7, k8s, run  # noqa: F401 (fixtures)
from factsutil import facts_for_root
from migrate import collector
from migrate.facts import Facts, load_facts
from migrate.manifests import load_manifest

SB_VAR = "sys/firmware/efi/efivars/" + collector.SECURE_BOOT_VAR
CENTOS8 = {"etc/os-release": 'NAME="CentOS Linux"\nID="centos"\nVERSION_ID="8"\n',
           "etc/centos-release": "CentOS Linux release 8.5.2111\n"}


def elf(machine: int, little: bool = True) -> bytes:
    """An ELF header with e_machine `machine`: enough for the collector's offline arch probe."""
    order = "little" if little else "big"
    return (b"\x7fELF\x02" + (b"\x01" if little else b"\x02") + b"\x01" + b"\0" * 9 +
            (2).to_bytes(2, order) + machine.to_bytes(2, order) + b"\0" * 44)




@pytest.fixture
def root(make_root):
    def make(files, name="root"):
        full = dict(CENTOS8)
        full.update(files)
        return facts_for_root(make_root(full, name=name))
    return make


OC8 = load_manifest("opencloudos-8")


# -- a private mount namespace ------------------------------------------------------------------

def in_mount_namespace(script: str, cwd: Path) -> None:
    """Run `script` (sh) in a private mount namespace; skip the test where that is not allowed."""
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs %s" % cwd], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("no private mount namespace here: %s" % probe.stderr.decode(errors="replace").strip())
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script],
                          capture_output=True, text=True, cwd=str(cwd), timeout=120,
                          env=dict(os.environ, MIGRATE_PY=sys.executable))
    assert proc.returncode == 0, proc.stderr


# -- system.disk_space ------------------------------------------------------------------------

def test_k8s_has_room(k8s):
    assert run("system.disk_space", k8s, OC8).status == "passed"


def page_bytes(directory: Path) -> int:
    """What the files below `directory` take on a tmpfs (whole 4 KiB pages)."""
    return sum(-(-f.stat().st_size // 4096) * 4096 for f in directory.rglob("*") if f.is_file())


@pytest.fixture(scope="module")
def small_disks(tmp_path_factory, built_hosts):
    """Roots holding a real (Berkeley DB) rpmdb, collected on tmpfs file systems:
    one/   everything on one 64 MiB file system;
    split/ / on 512 MiB and /boot on its own 16 MiB;
    var/   / on 512 MiB and /var on its own file system with the rpmdb and half the room the
           downloads of the installed CentOS packages need (their installed size)."""
    tmp = tmp_path_factory.mktemp("disks")
    bdb = built_hosts("centos8-bdb").root
    src = write_tree(tmp / "src", dict(CENTOS8, **{"boot/.keep": "", "usr/.keep": ""}))
    shutil.copytree(bdb / "var/lib/rpm", src / "var/lib/rpm")
    downloads = sum(p.size or 0 for p in facts_for_root(bdb).packages if p.vendor == "CentOS")
    var_size = page_bytes(src / "var") + 64 * 1024 + downloads // 2
    for name in ("one", "split", "var"):
        (tmp / name).mkdir()
    in_mount_namespace(textwrap.dedent("""
        mount -t tmpfs -o size=64m tmpfs one
        cp -a src/. one/
        "$MIGRATE_PY" -m migrate collect --root one -o one.json
        mount -t tmpfs -o size=512m tmpfs split
        cp -a src/. split/
        mount -t tmpfs -o size=16m tmpfs split/boot
        "$MIGRATE_PY" -m migrate collect --root split -o split.json
        mount -t tmpfs -o size=512m tmpfs var
        mkdir var/var
        mount -t tmpfs -o size=%d tmpfs var/var
        cp -a src/. var/
        "$MIGRATE_PY" -m migrate collect --root var -o var.json
    """ % var_size), tmp)
    return {name: load_facts(str(tmp / ("%s.json" % name))) for name in ("one", "split", "var")}


def test_file_systems_sharing_a_device_are_one_pool(small_disks):
    facts = small_disks["one"]
    assert len({fs.device for fs in facts.system.filesystems}) == 1
    finding = by_id(run("system.disk_space", facts, OC8))["system.disk_space_low"]
    # 64 MiB cannot hold the 100 MiB a new kernel needs in /boot, which lives on /'s file system
    assert (finding.severity, finding.overridable, finding.subjects) == ("blocker", True, ("/",))


def test_a_small_separate_boot(small_disks):
    finding = by_id(run("system.disk_space", small_disks["split"], OC8))["system.disk_space_low"]
    assert finding.subjects == ("/boot",)


def test_downloads_count_against_var(small_disks):
    facts = small_disks["var"]
    assert facts.probe("packages").status == "ok"
    finding = by_id(run("system.disk_space", facts, OC8))["system.disk_space_low"]
    assert finding.subjects == ("/var",)


def test_disk_check_needs_the_package_list(root):
    result = run("system.disk_space", root({}), OC8)
    assert result.status == "skipped" and "packages" in result.reason


# -- system.architecture -----------------------------------------------------------------------

def test_supported_architectures(k8s, root):
    assert run("system.architecture", k8s, OC8).status == "passed"
    aarch64 = root({"usr/bin/bash": elf(0xB7)})
    assert aarch64.os.arch == "aarch64" and run("system.architecture", aarch64, OC8).status == "passed"


def test_unsupported_architecture_blocks(root):
    facts = root({"usr/bin/bash": elf(0x15)})  # ppc64le
    finding = by_id(run("system.architecture", facts, OC8))["system.architecture_unsupported"]
    assert (finding.severity, finding.overridable, finding.subjects) == ("blocker", False, ("ppc64le",))
    loongarch = root({"usr/bin/bash": elf(0x102)}, name="loong")
    assert run("system.architecture", loongarch, OC8).findings[0].subjects == ("loongarch64",)
    assert run("system.architecture", loongarch, load_manifest("anolis-23")).status == "passed"


def test_unknown_architecture_is_skipped(root):
    assert run("system.architecture", root({}), OC8).status == "skipped"


# -- system.secure_boot ------------------------------------------------------------------------

def test_secure_boot_on_blocks(root):
    facts = root({SB_VAR: b"\x06\x00\x00\x00\x01"})
    finding = by_id(run("system.secure_boot", facts, OC8))["system.secure_boot_enabled"]
    assert (finding.severity, finding.overridable) == ("blocker", True)
    assert ("mokutil", "--sb-state") in finding.remediation.commands


def test_secure_boot_off_or_bios_passes(k8s, root):
    assert k8s.system.uefi is True and run("system.secure_boot", k8s, OC8).status == "passed"
    bios = root({"sys/firmware/acpi/x": ""})
    assert run("system.secure_boot", bios, OC8).status == "passed"


def test_uncaptured_firmware_is_skipped(c7):
    assert run("system.secure_boot", c7, load_manifest("anolis-7")).status == "skipped"


# -- system.fips -------------------------------------------------------------------------------

def test_fips_mode_on_blocks(root):
    facts = root({"proc/sys/crypto/fips_enabled": "1\n", "proc/cmdline": "ro quiet fips=1\n"})
    finding = by_id(run("system.fips", facts, OC8))["system.fips_enabled"]
    assert (finding.severity, finding.overridable, finding.subjects) == ("blocker", True, ("fips",))


def test_fips_policy_configured_for_next_boot_blocks(root):
    facts = root({"etc/crypto-policies/state/current": "FIPS\n"})
    assert [f.id for f in run("system.fips", facts, OC8).findings] == ["system.fips_enabled"]


def test_fips_off(k8s, c7):
    assert run("system.fips", k8s, OC8).status == "passed"
    assert run("system.fips", c7, load_manifest("anolis-7")).status == "passed"


def test_fips_unknown_is_skipped(root):
    assert run("system.fips", root({}), OC8).status == "skipped"


# -- system.selinux ----------------------------------------------------------------------------

def test_selinux_modes_on_the_test_hosts(k8s, c7):
    assert [(f.id, f.severity) for f in run("system.selinux", k8s, OC8).findings] == [
        ("system.selinux_permissive", "info")]
    assert [f.id for f in run("system.selinux", c7, load_manifest("anolis-7")).findings] == [
        "system.selinux_enforcing"]


def test_disabled_now_enforcing_after_reboot_needs_a_relabel(root):
    facts = root({"sys/fs/.keep": "", "etc/selinux/config": "SELINUX=enforcing\nSELINUXTYPE=targeted\n"})
    finding = by_id(run("system.selinux", facts, OC8))["system.selinux_relabel_pending"]
    assert (finding.severity, finding.overridable) == ("warning", True)


def test_selinux_disabled_for_good_is_informational(root):
    facts = root({"sys/fs/.keep": "", "etc/selinux/config": "SELINUX=disabled\n"})
    assert [(f.id, f.severity) for f in run("system.selinux", facts, OC8).findings] == [
        ("system.selinux_disabled", "info")]


def test_mode_that_changes_at_the_reboot(root):
    facts = root({"sys/fs/selinux/enforce": "1\n", "etc/selinux/config": "SELINUX=permissive\n"})
    assert [f.id for f in run("system.selinux", facts, OC8).findings] == [
        "system.selinux_mode_changes_on_reboot", "system.selinux_permissive"]


def test_selinux_unknown_is_skipped(root):
    assert run("system.selinux", root({}), OC8).status == "skipped"


# -- system.memory -----------------------------------------------------------------------------

def test_memory_of_the_test_hosts_is_enough(k8s, c7):
    assert run("system.memory", k8s, OC8).status == "passed"
    assert run("system.memory", c7, load_manifest("anolis-7")).status == "passed"  # 1.8 GiB >= 1.5 GiB


def test_memory_below_the_el_minimum(root):
    facts = root({"usr/bin/bash": elf(0x3E), "proc/meminfo": "MemTotal:        1000000 kB\nMemFree: 1 kB\n"})
    finding = by_id(run("system.memory", facts, OC8))["system.memory_low"]
    assert (finding.severity, finding.overridable) == ("warning", True)


def test_memory_uncaptured_is_skipped(root):
    assert run("system.memory", root({}), OC8).status == "skipped"


# -- system.rpmdb ------------------------------------------------------------------------------

@pytest.fixture
def bdb_rpmdb(built_hosts):
    return built_hosts("centos8-bdb").root / "var/lib/rpm"


def root_with_rpmdb(make_root, source: Path, extra):
    path = make_root(dict(CENTOS8))
    shutil.copytree(source, path / "var/lib/rpm")
    for name, content in extra.items():
        target = path / "var/lib/rpm" / name
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_bytes(content)
    return facts_for_root(path)


def test_healthy_rpmdbs(k8s, c7):
    assert run("system.rpmdb", k8s, OC8).status == "passed"
    assert run("system.rpmdb", c7, load_manifest("anolis-7")).status == "passed"


def test_stale_berkeley_db_environment(make_root, bdb_rpmdb):
    facts = root_with_rpmdb(make_root, bdb_rpmdb, {"__db.001": b"\0" * 4096, "__db.002": b"\0" * 4096})
    assert facts.probe("packages").status == "ok"
    finding = by_id(run("system.rpmdb", facts, OC8))["system.rpmdb_stale_environment"]
    assert finding.severity == "warning"
    assert finding.subjects == ("/var/lib/rpm/__db.001", "/var/lib/rpm/__db.002")
    assert ("rpm", "--rebuilddb") in finding.remediation.commands


def test_berkeley_db_and_sqlite_side_by_side(make_root, bdb_rpmdb, built_hosts):
    sqlite = built_hosts("centos8-k8s").root / "var/lib/rpm/rpmdb.sqlite"
    facts = root_with_rpmdb(make_root, bdb_rpmdb, {"rpmdb.sqlite": sqlite})
    finding = by_id(run("system.rpmdb", facts, OC8))["system.rpmdb_multiple_backends"]
    assert (finding.severity, finding.overridable) == ("blocker", True)


def test_unreadable_rpmdb_blocks(root):
    facts = root({"var/lib/rpm/rpmdb.sqlite": b"this is not a database" * 100})
    assert facts.probe("packages").status == "error"
    finding = by_id(run("system.rpmdb", facts, OC8))["system.rpmdb_unreadable"]
    assert (finding.severity, finding.overridable) == ("blocker", False)


def test_no_rpmdb_is_skipped(root):
    assert run("system.rpmdb", root({}), OC8).status == "skipped"


# -- system.pkgmgr_locks and system.apply_user (offline) ------------------------------------------

def test_lock_in_an_offline_root_has_an_unknown_holder(root):
    facts = root({"var/run/yum.pid": "4242\n"})
    found = by_id(run("system.pkgmgr_locks", facts, OC8))
    assert set(found) == {"system.pkgmgr_lock_unknown"}
    assert found["system.pkgmgr_lock_unknown"].subjects == ("/var/run/yum.pid",)
    assert found["system.pkgmgr_lock_unknown"].severity == "warning"


def test_no_locks(k8s):
    assert run("system.pkgmgr_locks", k8s, OC8).status == "passed"


def test_apply_user_is_not_applicable_offline(k8s):
    result = run("system.apply_user", k8s, OC8)
    assert result.status == "not_applicable" and "offline root" in result.reason


# -- live collections of this machine ------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """This machine collected live in a private mount namespace whose /run is a fresh tmpfs:
    as root with /run/yum.pid naming a running process, as root with a dead pid in it, and
    as `nobody` (collector source piped to the interpreter, as over SSH)."""
    tmp = tmp_path_factory.mktemp("live")
    os.chmod(tmp, 0o755)
    source = Path(collector.__file__)
    in_mount_namespace(textwrap.dedent("""
        mount -t tmpfs -o mode=755 tmpfs /run
        echo $$ > /run/yum.pid
        "$MIGRATE_PY" - < {src} > held.json
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$MIGRATE_PY" - < {src} > nobody.json
        true & dead=$!; wait $dead
        echo $dead > /run/yum.pid
        "$MIGRATE_PY" - < {src} > stale.json
    """.format(src=source)), tmp)
    return {name: Facts.from_dict(json.loads((tmp / ("%s.json" % name)).read_text()))
            for name in ("held", "nobody", "stale")}


def test_a_running_package_manager_blocks(live):
    finding = by_id(run("system.pkgmgr_locks", live["held"], OC8))["system.pkgmgr_lock_held"]
    assert (finding.severity, finding.overridable) == ("blocker", False)
    assert finding.subjects == ("/run/yum.pid",)  # /var/run/yum.pid is the same file


def test_a_dead_lock_holder_is_informational(live):
    found = by_id(run("system.pkgmgr_locks", live["stale"], OC8))
    assert set(found) == {"system.pkgmgr_lock_stale"} and found["system.pkgmgr_lock_stale"].severity == "info"


def test_root_may_apply(live):
    assert live["held"].pkgmgr.euid == 0
    assert run("system.apply_user", live["held"], OC8).status == "passed"


def test_an_unprivileged_assessment_says_apply_needs_root(live):
    facts = live["nobody"]
    assert facts.pkgmgr.euid not in (None, 0)
    finding = by_id(run("system.apply_user", facts, OC8))["system.not_root"]
    assert (finding.severity, finding.overridable) == ("warning", True)
    assert finding.subjects == ("uid %d" % facts.pkgmgr.euid,)
