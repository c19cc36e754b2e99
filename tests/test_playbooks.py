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
    with open(inv, "a") as handle:   # a host nobody answers for: both keep going without it
        handle.write("\n[fleet]\ngone ansible_host=127.0.12.99 ansible_port=%d\n" % fleet.port)
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
    assert set(recap) == {"p%02d" % i for i in range(len(ROOT_NAMES))} | {"gone"}
    for name, line in recap.items():
        if name == "gone":
            assert "unreachable=1" in line
        else:
            assert "failed=0" in line and "unreachable=0" in line, line
    assert not (assessed["out"] / "gone.json").exists()
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


def test_assess_playbook_writes_the_dashboard_and_leaves_nothing_on_hosts(assessed):
    out = assessed["out"]
    html = (out / "fleet.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    for i in range(len(ROOT_NAMES)):
        assert "p%02d.html" % i in html          # every host's report is linked
    assert assessed["left_on_hosts"] == set()
    for root in assessed["fleet"].roots.values():
        assert not (Path(root) / "var/lib/migrate").exists()
