"""The Ansible playbooks (playbooks/) with the real ansible-playbook and ansible-lint.

- ansible-lint (production profile, offline) reports nothing on playbooks/, and does report a
  planted violation (the lint test can fail).
- assess.yml against the sshd test fleet (tests/sshfleet.py, "plain" hosts that run any
  command, each host's root given by `migrate_root`) produces the same facts and findings per
  host as `migrate fleet scan` on the same inventory, leaves nothing on the hosts, and keeps
  going past an unreachable host.
- migrate.yml migrates a fleet host's installroot through `migrate apply --host` (the SSH
  executor), and a wave with a failing host rolls that host back and stops the later waves.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansibleutil import PLAYBOOKS, run_lint, run_playbook
from sshfleet import SshFleet, TestHost

pytestmark = pytest.mark.integration

TARGET = "opencloudos-8"
ROOT_NAMES = ["centos7-minimal", "centos8-k8s", "centos8-bdb", "centos8-traits", "centos8-clean",
              "centos7-cilium", "centos8-sm"]


def _need_sshd():
    # the CI runs as root with openssh-server installed (scripts/test.sh): a missing sshd fails
    assert os.geteuid() == 0, "the playbook tests start sshd test hosts: run as root (scripts/test.sh)"
    assert os.path.exists("/usr/sbin/sshd"), "openssh-server is missing (scripts/test.sh installs it)"


# -- ansible-lint -----------------------------------------------------------------------------

def test_ansible_lint_production_profile_reports_nothing(tmp_path):
    proc = run_lint(PLAYBOOKS, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout or "[]") == [], proc.stdout
    # the shipped configuration asks for the production profile, offline
    config = (PLAYBOOKS / ".ansible-lint").read_text()
    assert "profile: production" in config and "offline: true" in config


def test_ansible_lint_catches_a_planted_violation(tmp_path):
    copy = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS, copy, ignore=shutil.ignore_patterns("migrate-out"))
    tasks = copy / "roles/migrate_assess/tasks/dashboard.yml"
    tasks.write_text(tasks.read_text() + "\n- name: dashboard | Planted short module name\n"
                                          "  command: /bin/true\n  changed_when: false\n")
    proc = run_lint(copy, tmp_path / "work")
    assert proc.returncode != 0
    rules = {item["check_name"].split("[")[0] for item in json.loads(proc.stdout)}
    assert "fqcn" in rules, proc.stdout


def test_inventory_example_reads_the_same_in_ansible_and_migrate(tmp_path):
    """playbooks/inventory/example.yml: ansible-inventory and `migrate fleet scan`'s reader
    agree on the hosts, ports and roots."""
    from ansibleutil import ansible_env, tool
    from migrate.fleet.inventory import load_inventory

    example = PLAYBOOKS / "inventory" / "example.yml"
    proc = subprocess.run([tool("ansible-inventory"), "-i", str(example), "--list"], capture_output=True,
                          text=True, env=ansible_env(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)["_meta"]["hostvars"]
    mine = load_inventory(str(example))
    assert not mine.rejected
    assert sorted(h.name for h in mine.hosts) == sorted(hostvars)
    for h in mine.hosts:
        assert h.port == hostvars[h.name].get("ansible_port"), h.name
        assert h.root == hostvars[h.name].get("migrate_root"), h.name
        assert hostvars[h.name]["migrate_target"] == TARGET


# -- assess.yml -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def assess_fleet(tmp_path_factory, built_hosts):
    _need_sshd()
    roots = {name: str(built_hosts(name).root) for name in ROOT_NAMES}
    hosts = [TestHost("p%02d" % i, "127.0.12.%d" % (i + 1), "plain", roots[name])
             for i, name in enumerate(ROOT_NAMES)]
    fleet = SshFleet(tmp_path_factory.mktemp("ansfleet"))
    fleet.start(hosts)
    try:
        fleet.roots = roots
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="module")
def assessed(assess_fleet, tmp_path_factory):
    """One inventory, scanned twice: `migrate fleet scan` and `ansible-playbook assess.yml`."""
    from hosts import swap

    fleet = assess_fleet
    work = tmp_path_factory.mktemp("assess")
    inv = fleet.inventory_ini(work / "inv.ini")
    waivers = work / "waivers.yml"
    waivers.write_text("- id: repos.centos_eol_mirror\n  reason: replaced by the swap\n")
    p00, p01 = fleet.hosts[0], fleet.hosts[1]
    stale = work / "stale-collector"
    stale.write_text("#!/bin/sh\ncat >/dev/null\necho '{\"schema_version\": 1}'\n")
    stale.chmod(0o755)
    with open(inv, "a") as handle:
        # a host nobody answers for: both keep going without it
        handle.write("\n[fleet]\ngone ansible_host=127.0.12.99 ansible_port=%d\n" % fleet.port)
        # the playbook only: a "collector" that writes facts of a schema this migrate does not
        # read (the test hosts are this machine): collected and fetched, then `migrate fleet
        # assess` ends it collector_error, and that host fails alone
        handle.write("badfacts ansible_host=%s ansible_port=%d migrate_root=%s "
                     "migrate_assess_collector_python=%s\n" % (p00.address, fleet.port, p00.root, stale))
        # p01's root with a waiver file of its own: a second `migrate fleet assess` group
        handle.write("waived ansible_host=%s ansible_port=%d migrate_root=%s migrate_waivers_file=%s\n"
                     % (p01.address, fleet.port, p01.root, waivers))
    target_repo = str(swap.target_repo())
    before_tmp = set(glob.glob("/tmp/migrate-collect.*"))

    scan_out = work / "scan"
    scan = subprocess.run([sys.executable, "-m", "migrate", "fleet", "scan", "-i", str(inv), "--target", TARGET,
                           "--out", str(scan_out), "--known-hosts", str(fleet.known_hosts),
                           "--ssh-config", str(fleet.ssh_config()), "--timeout", "60",
                           "--target-repo", target_repo],
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    out = work / "ansible-out"
    play = run_playbook("assess.yml", inv, work / "ansible", fleet.known_hosts,
                        {"migrate_target": TARGET, "migrate_out_dir": str(out),
                         "migrate_target_repos": [target_repo]})
    return {"scan": scan, "scan_out": scan_out, "play": play, "out": out, "fleet": fleet,
            "left_on_hosts": set(glob.glob("/tmp/migrate-collect.*")) - before_tmp}


def _findings(report):
    return sorted((f["id"], f["severity"], tuple(f["subjects"]), f["waived"], f["overridable"], f["check_id"])
                  for f in report["findings"])


def _facts(path):
    """Facts as the engine reads them, without what differs between two reads of one host."""
    from migrate.facts import load_facts

    data = json.loads(load_facts(str(path)).to_json())
    data.pop("collected_at")
    data["collector"].pop("duration_s")
    for fs in data["system"]["filesystems"]:      # live free space of the controller's disk
        fs.pop("avail_bytes", None)
        fs.pop("free_bytes", None)
    return data


def test_assess_playbook_runs_every_reachable_host(assessed):
    play = assessed["play"]
    # 4: a host was unreachable; every other host finished (no failed task)
    assert play.returncode == 4, play.stdout[-3000:] + play.stderr[-2000:]
    recap = {line.split()[0]: line for line in play.stdout.splitlines() if "unreachable=" in line}
    assert set(recap) == {"p%02d" % i for i in range(len(ROOT_NAMES))} | {"gone", "badfacts", "waived"}
    for name, line in recap.items():
        if name == "gone":
            assert "unreachable=1" in line
        elif name == "badfacts":
            assert "failed=1" in line and "unreachable=0" in line, line
        else:
            assert "failed=0" in line and "unreachable=0" in line, line
    assert not (assessed["out"] / "gone.json").exists()
    assert not (assessed["out"] / "badfacts.json").exists()
    scan = assessed["scan"]
    assert scan.returncode == 5, scan.stderr    # the unreachable host makes the scan incomplete
    doc = json.loads((assessed["scan_out"] / "fleet.json").read_text())
    assert {h["name"]: h["state"] for h in doc["hosts"]}["gone"] == "unreachable"


def test_assess_playbook_matches_fleet_scan_per_host(assessed):
    out, scan_out = assessed["out"], assessed["scan_out"]
    verdicts = set()
    for i in range(len(ROOT_NAMES)):
        name = "p%02d" % i
        mine = json.loads((out / (name + ".json")).read_text())
        theirs = json.loads((scan_out / (name + ".json")).read_text())
        assert mine["findings"], name
        assert _findings(mine) == _findings(theirs), name
        for key in ("verdict", "complete", "blockers", "warnings", "info", "waived", "checks"):
            assert mine["summary"][key] == theirs["summary"][key], (name, key)
        assert mine["target"]["id"] == TARGET
        host = lambda report: {k: v for k, v in report["host"].items() if k != "collected_at"}
        assert host(mine) == host(theirs), name
        # the same facts: the collector read the same root (migrate_root) with the same Python
        assert _facts(out / (name + ".facts.json")) == _facts(scan_out / (name + ".facts.json")), name
        assert (out / (name + ".html")).read_text().lstrip().lower().startswith("<!doctype html")
        verdicts.add(mine["summary"]["verdict"])
    assert len(verdicts) >= 2, verdicts     # the fleet is not uniform: the comparison means something


def test_assess_playbook_assesses_in_one_process_per_option_set(assessed):
    """`waived` (a waiver file of its own) is assessed by a second `migrate fleet assess`,
    after the group of the p* hosts and badfacts (play order): fleet.json is that last
    group's. badfacts' fetched facts are of a stale schema: collector_error, its own failure."""
    out, scan_out = assessed["out"], assessed["scan_out"]
    doc = json.loads((out / "fleet.json").read_text())
    scan_doc = json.loads((scan_out / "fleet.json").read_text())
    assert set(doc) == set(scan_doc) and doc["target"] == TARGET
    assert [(h["name"], h["state"]) for h in doc["hosts"]] == [("waived", "ok")]
    assert set(doc["hosts"][0]) == set(scan_doc["hosts"][0])
    # the waived host: p01's findings, with its own waiver applied and nobody else's
    mine = json.loads((out / "waived.json").read_text())
    plain = json.loads((out / "p01.json").read_text())
    unwaive = lambda report: sorted((f["id"], tuple(f["subjects"])) for f in report["findings"])
    assert unwaive(mine) == unwaive(plain)
    assert {f["id"] for f in mine["findings"] if f["waived"]} == {"repos.centos_eol_mirror"}
    assert not [f for f in plain["findings"] if f["waived"]]
    # badfacts: collected and fetched (the collect tasks passed), failed by the assessment
    assert json.loads((out / "badfacts.facts.json").read_text()) == {"schema_version": 1}
    stdout = assessed["play"].stdout
    assert stdout.count("fatal: [badfacts]") == 1
    fatal = stdout[stdout.index("fatal: [badfacts]"):].split("\n\n")[0]
    task = stdout[:stdout.index("fatal: [badfacts]")].rsplit("TASK [", 1)[1].split("]")[0]
    assert task.startswith("migrate_assess : assess | "), task
    assert "collector_error" in fatal and "schema_version" in fatal, fatal


def test_assess_playbook_writes_the_dashboard_and_leaves_nothing_on_hosts(assessed):
    out = assessed["out"]
    html = (out / "fleet.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    for i in range(len(ROOT_NAMES)):
        assert "p%02d.html" % i in html          # every host's report is linked
    assert assessed["left_on_hosts"] == set(), assessed["play"].stdout[-6000:]
    for root in assessed["fleet"].roots.values():
        assert not (Path(root) / "var/lib/migrate").exists()


# -- migrate.yml ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def migrate_fleet(tmp_path_factory):
    """Fleet hosts whose roots are copies of the swap test host (tests/hosts/swap.py)."""
    from hostbuild import build_host
    from hosts import swap

    _need_sshd()
    base = tmp_path_factory.mktemp("migroots")
    host = build_host(swap.swap_host_spec())
    names = ["m0", "w0", "w1", "w2", "g0"]
    hosts = []
    for i, name in enumerate(names):
        root = base / name
        shutil.copytree(host.root, root, symlinks=True)
        hosts.append(TestHost(name, "127.0.13.%d" % (i + 1), "plain", str(root)))
    fleet = SshFleet(tmp_path_factory.mktemp("migfleet"))
    fleet.start(hosts)
    try:
        fleet.source, fleet.target = str(swap.source_repo()), str(swap.target_repo())
        yield fleet
    finally:
        fleet.stop()


def _inventory(fleet, path, names, host_vars=None):
    """A YAML inventory of some fleet hosts; the good target repo for all, host vars on top."""
    import yaml

    hosts = {}
    for h in fleet.hosts:
        if h.name in names:
            hosts[h.name] = {"ansible_host": h.address, "ansible_port": fleet.port, "ansible_user": "root",
                             "migrate_root": h.root}
            hosts[h.name].update((host_vars or {}).get(h.name, {}))
    doc = {"all": {"hosts": hosts, "vars": {"ansible_ssh_private_key_file": str(fleet.client_key),
                                            "migrate_target_repos": [fleet.target]}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _migrate(fleet, work, names, host_vars=None, **extra):
    work.mkdir(parents=True, exist_ok=True)
    inv = _inventory(fleet, work / "inv.yml", names, host_vars)
    extra_vars = {"migrate_target": TARGET, "migrate_out_dir": str(work / "out"),
                  "migrate_apply_source_repos": [fleet.source], "migrate_apply_gpgcheck": False,
                  "migrate_apply_min_free_mb": 1, "migrate_apply_known_hosts": str(fleet.known_hosts)}
    extra_vars.update(extra)
    return run_playbook("migrate.yml", inv, work / "ansible", fleet.known_hosts, extra_vars)


def _root(fleet, name):
    return Path(next(h.root for h in fleet.hosts if h.name == name))


def _os_id(root):
    for line in (root / "etc/os-release").read_text().splitlines():
        if line.startswith("ID="):
            return line[3:].strip('"')
    return None


def _journal(root):
    runs = sorted((root / "var/lib/migrate").glob("*/journal.json"))
    assert len(runs) == 1, runs
    return json.loads(runs[0].read_text())


def _rpm_qa(root):
    out = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-qa"], check=True,
                         capture_output=True, text=True, env=dict(os.environ, HOME=str(root / "nonexistent")))
    return {line for line in out.stdout.split() if not line.startswith("gpg-pubkey")}


def _recap(proc):
    out = {}
    for line in proc.stdout.splitlines():
        if "unreachable=" in line and ":" in line:
            name, _, counters = line.partition(":")
            out[name.strip()] = dict(item.split("=") for item in counters.split())
    return out


def test_migrate_playbook_migrates_a_fleet_host(migrate_fleet, tmp_path):
    fleet = migrate_fleet
    root = _root(fleet, "m0")
    assert _os_id(root) == "centos"
    proc = _migrate(fleet, tmp_path, ["m0"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert _recap(proc)["m0"]["failed"] == "0"
    data = _journal(root)
    assert data["state"] == "completed" and data["point_of_no_return_passed"]
    assert all(step["state"] == "done" for step in data["steps"]), data["steps"]
    assert _os_id(root) == "opencloudos"
    assert "opencloudos-release-8.6-1.oc8.noarch" in _rpm_qa(root)
    assert not any(p.startswith("centos-linux-release") for p in _rpm_qa(root))
    # the gate's assessment and its waiver file were written on the controller
    report = json.loads((tmp_path / "out" / "m0.json").read_text())
    assert report["target"]["id"] == TARGET
    assert not [f for f in report["findings"] if f["severity"] == "blocker" and not f["waived"]]
    import yaml
    assert yaml.safe_load((tmp_path / "out" / "m0.waivers.yml").read_text()) == {"waivers": []}


def test_migrate_wave_with_a_failing_host_rolls_it_back_and_stops(migrate_fleet, tmp_path):
    """Waves of one host: w0 migrates; w1's target repo lacks the release package, so its
    swap-release step fails before the point of no return: it is rolled back and the play
    stops (max_fail_percentage 0); w2, in the next wave, is never touched."""
    fleet = migrate_fleet
    roots = {name: _root(fleet, name) for name in ("w0", "w1", "w2")}
    before_w1 = _rpm_qa(roots["w1"])
    release_w1 = (roots["w1"] / "etc/os-release").read_bytes()
    proc = _migrate(fleet, tmp_path, ["w0", "w1", "w2"],
                    host_vars={"w1": {"migrate_target_repos": [fleet.source]}}, migrate_serial=1)
    assert proc.returncode == 2, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = _recap(proc)
    assert set(recap) == {"w0", "w1"}, recap          # w2's wave never started
    assert recap["w0"]["failed"] == "0" and recap["w1"]["failed"] == "1"
    assert recap["w1"]["rescued"] == "1"
    # wave 1
    assert _journal(roots["w0"])["state"] == "completed" and _os_id(roots["w0"]) == "opencloudos"
    # wave 2: failed in swap-release, rolled back to exactly what it was
    data = _journal(roots["w1"])
    assert data["state"] == "rolled_back", data["state"]
    assert not data["point_of_no_return_passed"]
    assert _os_id(roots["w1"]) == "centos"
    assert (roots["w1"] / "etc/os-release").read_bytes() == release_w1
    assert _rpm_qa(roots["w1"]) == before_w1
    assert sorted(p.name for p in (roots["w1"] / "etc/yum.repos.d").iterdir()) == ["CentOS-Linux-BaseOS.repo"]
    # wave 3: not touched, not even assessed
    assert not (roots["w2"] / "var/lib/migrate").exists() and _os_id(roots["w2"]) == "centos"
    assert not (tmp_path / "out" / "w2.facts.json").exists()


def test_migrate_gate_refuses_blockers_unless_allowed(migrate_fleet, tmp_path):
    """An unwaived blocker (FIPS mode on) fails the host at the gate, before any change;
    the same finding id in migrate_apply_allowed_findings lets the migration run."""
    fleet = migrate_fleet
    root = _root(fleet, "g0")
    fips = root / "proc/sys/crypto/fips_enabled"
    fips.parent.mkdir(parents=True, exist_ok=True)
    fips.write_text("1\n")
    proc = _migrate(fleet, tmp_path / "refused", ["g0"])
    assert proc.returncode == 2, proc.stdout[-4000:]
    assert _recap(proc)["g0"]["failed"] == "1"
    assert not (root / "var/lib/migrate").exists() and _os_id(root) == "centos"
    report = json.loads((tmp_path / "refused" / "out" / "g0.json").read_text())
    assert [f["id"] for f in report["findings"] if f["severity"] == "blocker" and not f["waived"]] == \
        ["system.fips_enabled"]

    proc = _migrate(fleet, tmp_path / "allowed", ["g0"], migrate_apply_allowed_findings=["system.fips_enabled"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert _journal(root)["state"] == "completed" and _os_id(root) == "opencloudos"
    report = json.loads((tmp_path / "allowed" / "out" / "g0.json").read_text())
    fips_findings = [f for f in report["findings"] if f["id"] == "system.fips_enabled"]
    assert fips_findings and all(f["waived"] for f in fips_findings)
