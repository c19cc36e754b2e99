"""Benchmark `migrate fleet scan` on emulated hosts (real sshd, tests/sshfleet.py).

    .venv/bin/python bench/fleet_scan.py [--hosts 200] [--root-host centos8-k8s] [--skip-ansible]

Measures, on the same N loopback sshd hosts (one sshd per 16 addresses, every host
reading the same built CentOS root through `migrate_root`):
  scan     `python -m migrate.fleet.cli scan` wall time and peak RSS (ru_maxrss of the child)
  floor    N concurrent paramiko connections running `true` (connect + auth + one session)
  ansible  `ansible-playbook` (ansible-core<2.17, forks=50, pipelining) gathering the same data:
           package list, repo files, kernel modules, release files
Prints the ratios. Needs root and openssh-server. Never run as a timed test.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "tests"))

from sshfleet import SshFleet, TestHost  # noqa: E402

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: package list
      ansible.builtin.command: rpm --root {{ migrate_root }} --dbpath /var/lib/rpm -qa --qf '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\\n'
      changed_when: false
    - name: repo files
      ansible.builtin.find: {paths: "{{ migrate_root }}/etc/yum.repos.d", patterns: "*.repo"}
      register: repos
    - name: read repo files
      ansible.builtin.slurp: {src: "{{ item.path }}"}
      loop: "{{ repos.files }}"
    - name: kernel modules
      ansible.builtin.command: find {{ migrate_root }}/lib/modules -name '*.ko*'
      changed_when: false
    - name: release files
      ansible.builtin.command: cat {{ migrate_root }}/etc/os-release {{ migrate_root }}/etc/redhat-release
      changed_when: false
"""


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def floor(fleet: SshFleet, hosts, jobs: int) -> float:
    import paramiko

    key = paramiko.Ed25519Key.from_private_key_file(str(fleet.client_key))

    def one(h):
        client = paramiko.SSHClient()
        client.load_host_keys(str(fleet.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(h.address, fleet.port, "root", pkey=key, allow_agent=False,
                       look_for_keys=False, timeout=30, banner_timeout=60)
        try:
            _, out, _ = client.exec_command("true")
            return out.channel.recv_exit_status()
        finally:
            client.close()

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(one, hosts))
    assert all(c == 0 for c in codes), codes
    return time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--root-host", default="centos8-k8s")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--skip-ansible", action="store_true")
    args = ap.parse_args()
    from hostbuild import get_host

    root = str(get_host(args.root_host).root)
    work = Path(tempfile.mkdtemp(prefix="fleetbench."))
    hosts = [TestHost("b%04d" % i, "127.0.%d.%d" % (20 + i // 250, 1 + i % 250), "plain", root)
             for i in range(args.hosts)]
    fleet = SshFleet(work / "fleet")
    t0 = time.monotonic()
    fleet.start(hosts)
    print("fleet: %d hosts, %d sshd, up in %.1fs" % (len(hosts), len(fleet.pids), time.monotonic() - t0))
    try:
        inv = fleet.inventory_ini(work / "inv.ini")
        argv = [sys.executable, "-m", "migrate.fleet.cli", "scan", "-i", str(inv), "--target",
                "opencloudos-8", "--out", str(work / "out"), "--known-hosts", str(fleet.known_hosts),
                "--timeout", "300"]
        if args.jobs:
            argv += ["-j", str(args.jobs)]
        t0 = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True)
        scan_s = time.monotonic() - t0
        peak = child_peak_mb()
        doc = json.loads((work / "out" / "fleet.json").read_text())
        print("scan: %.1fs, exit %d, states %s, peak RSS %.0f MB"
              % (scan_s, proc.returncode, {k: v for k, v in doc["states"].items() if v}, peak))
        floor_s = floor(fleet, hosts, min(200, len(hosts)))
        print("floor (paramiko `true`, %d concurrent): %.1fs -> scan reaches %.0f%% of its throughput"
              % (min(200, len(hosts)), floor_s, 100.0 * floor_s / scan_s))
        if args.skip_ansible:
            return 0
        ansible = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
        if not os.path.exists(ansible):
            print("ansible: not run: ansible-playbook not installed (pip install 'ansible-core<2.17')")
            return 0
        (work / "play.yml").write_text(PLAYBOOK)
        env = dict(os.environ, ANSIBLE_PIPELINING="True", ANSIBLE_FORKS="50",
                   ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_PYTHON_INTERPRETER="python3",
                   ANSIBLE_SSH_ARGS="-o UserKnownHostsFile=%s -o ControlMaster=auto "
                                    "-o ControlPersist=60s" % fleet.known_hosts,
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"))
        t0 = time.monotonic()
        aproc = subprocess.run([ansible, "-i", str(inv), str(work / "play.yml")], capture_output=True,
                               text=True, env=env)
        ansible_s = time.monotonic() - t0
        recap = [ln for ln in aproc.stdout.splitlines() if "ok=" in ln]
        failed = [ln for ln in recap if "failed=0" not in ln or "unreachable=0" not in ln]
        print("ansible: %.1fs, exit %d, %d hosts in recap, %d with failures -> scan is %.1fx faster"
              % (ansible_s, aproc.returncode, len(recap), len(failed), ansible_s / scan_s))
        if aproc.returncode:
            print(aproc.stdout[-1500:])
    finally:
        fleet.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
