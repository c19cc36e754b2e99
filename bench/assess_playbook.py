#!/usr/bin/env python3
"""Benchmark: `ansible-playbook playbooks/assess.yml` against `migrate fleet scan` on the same
N emulated hosts (real sshd processes on loopback addresses, tests/sshfleet.py, 'plain' mode,
every host reading one built CentOS 8 root through `migrate_root`), with the test
OpenCloudOS 8 repo as --target-repo. Prints both times and their ratio.

    .venv/bin/python bench/assess_playbook.py [--hosts 100] [--playbooks DIR ...] [--skip-scan]

--playbooks compares other copies of the playbooks (e.g. `git archive REV playbooks | tar -x -C
/tmp/old` to time an earlier role); the default is this checkout's playbooks/.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import ansibleutil  # noqa: E402
from sshfleet import SshFleet, TestHost  # noqa: E402


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--root-host", default="centos8-k8s")
    parser.add_argument("--playbooks", action="append", default=[])
    parser.add_argument("--skip-scan", action="store_true")
    args = parser.parse_args()
    from hostbuild import get_host
    from hosts.targets import opencloudos8_repo

    repo = str(opencloudos8_repo())
    root = str(get_host(args.root_host).root)
    work = Path(tempfile.mkdtemp(prefix="bench-assess-playbook."))
    hosts = [TestHost("b%04d" % i, "127.0.%d.%d" % (40 + i // 250, 1 + i % 250), "plain", root)
             for i in range(args.hosts)]
    fleet = SshFleet(work / "fleet")
    fleet.start(hosts)
    print("%d hosts; load average before: %s" % (args.hosts, load()), flush=True)
    scan_s = None
    try:
        inventory = fleet.inventory_ini(work / "inventory.ini")
        if not args.skip_scan:
            argv = [sys.executable, "-m", "migrate", "fleet", "scan", "-i", str(inventory),
                    "--target", "opencloudos-8", "--out", str(work / "scan"),
                    "--known-hosts", str(fleet.known_hosts), "--timeout", "300", "--target-repo", repo]
            started = time.monotonic()
            proc = subprocess.run(argv, capture_output=True, text=True)
            scan_s = time.monotonic() - started
            doc = json.loads((work / "scan" / "fleet.json").read_text())
            print("migrate fleet scan: %.1f s, exit %d, states %s" % (
                scan_s, proc.returncode, {k: v for k, v in doc["states"].items() if v}), flush=True)
        for index, playbooks in enumerate(args.playbooks or [str(REPO / "playbooks")]):
            ansibleutil.PLAYBOOKS = Path(playbooks)
            out = work / ("out-%d" % index)
            started = time.monotonic()
            proc = ansibleutil.run_playbook("assess.yml", inventory, work / ("ansible-%d" % index),
                                            fleet.known_hosts,
                                            {"migrate_target": "opencloudos-8", "migrate_out_dir": str(out),
                                             "migrate_target_repos": [repo]}, timeout=3600)
            took = time.monotonic() - started
            reports = [p for p in out.glob("*.json") if not p.name.endswith(".facts.json") and p.name != "fleet.json"]
            print("assess.yml (%s): %.1f s, exit %d, %d host reports%s" % (
                playbooks, took, proc.returncode, len(reports),
                ", %.1fx the scan" % (took / scan_s) if scan_s else ""), flush=True)
            if proc.returncode:
                print(proc.stdout[-2000:], proc.stderr[-2000:])
    finally:
        fleet.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
