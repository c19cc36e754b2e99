"""`migrate fleet scan` against a real fleet of sshd test hosts (tests/sshfleet.py).

One module-scoped fleet: 20 CentOS 7/8 hosts built by tests/hostbuild, plus hosts that
sleep, have no Python, print garbage, refuse our key, present a changed host key, and
a bastion for ProxyJump. Runs the scanner as a subprocess (`python -m migrate.fleet.cli`).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sshfleet import SshFleet, TestHost

pytestmark = pytest.mark.integration

ROOT_NAMES = ["centos7-minimal", "centos8-k8s", "centos8-bdb", "centos8-traits", "centos8-clean",
              "centos7-cilium", "centos8-sm"]
TARGET = "opencloudos-8"

needs_sshd = pytest.mark.skipif(not (os.path.exists("/usr/sbin/sshd") and os.geteuid() == 0),
                                reason="needs root and openssh-server (/usr/sbin/sshd)")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, built_hosts):
    if not (os.path.exists("/usr/sbin/sshd") and os.geteuid() == 0):
        pytest.skip("needs root and openssh-server (/usr/sbin/sshd)")
    roots = {name: str(built_hosts(name).root) for name in ROOT_NAMES}
    hosts = [TestHost("h%02d" % i, "127.0.10.%d" % (i + 1), root=roots[ROOT_NAMES[i % len(ROOT_NAMES)]])
             for i in range(20)]
    hosts += [TestHost("sleepy", "127.0.10.30", "sleep"),
              TestHost("nopy", "127.0.10.31", "nopython"),
              TestHost("garbage", "127.0.10.32", "garbage"),
              TestHost("noauth", "127.0.10.33", "noauth"),
              TestHost("changed", "127.0.10.34", "plain"),
              TestHost("behind", "127.0.10.35", root=roots["centos8-sm"]),
              TestHost("bastion", "127.0.11.1", "bastion")]
    f = SshFleet(tmp_path_factory.mktemp("sshfleet"))
    f.start(hosts)
    try:
        # "changed": known_hosts holds another key for it, as after a host was reinstalled
        other = f.dir / "other_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
        text = f.known_hosts.read_text().replace(f.host_key_line("127.0.10.34"),
                                                 f.host_key_line("127.0.10.34", other))
        f.known_hosts.write_text(text)
        f.roots = roots
        yield f
    finally:
        f.stop()


def scan(fleet, inventory, out, *extra, timeout=90):
    argv = [sys.executable, "-m", "migrate.fleet.cli", "scan", "-i", str(inventory), "--target", TARGET,
            "--out", str(out), "--known-hosts", str(fleet.known_hosts), "--ssh-config",
            str(fleet.ssh_config_path), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def main_scan(fleet, tmp_path_factory):
    work = tmp_path_factory.mktemp("scan")
    fleet.ssh_config_path = fleet.ssh_config(
        "Host behind-alias\n    HostName 127.0.10.35\n    ProxyJump root@127.0.11.1:%d\n" % fleet.port)
    normal = [h for h in fleet.hosts if h.mode == "normal" and h.name != "behind"]
    odd = [h for h in fleet.hosts if h.mode in ("sleep", "nopython", "garbage", "noauth", "plain")]
    inv = fleet.inventory_ini(work / "inv.ini", normal + odd,
                              group_of={h.name: "odd" for h in odd})
    with open(inv, "a") as handle:
        handle.write("\n[jump]\nbehind-alias migrate_root=%s\n"
                     "[odd]\nunreachable ansible_host=127.0.10.99 ansible_port=%d\n"
                     "evil;touch%%20/tmp/pwned ansible_host=127.0.10.1\n"
                     "../../escape ansible_host=127.0.10.1\n"
                     "$(id) ansible_host=127.0.10.1\n"
                     % (fleet.roots["centos8-sm"], fleet.port))
    out = work / "out"
    started = time.monotonic()
    proc = scan(fleet, inv, out, "--timeout", "6", "-j", "16")
    return {"proc": proc, "out": out, "inv": inv, "work": work, "elapsed": time.monotonic() - started,
            "fleet": json.loads((out / "fleet.json").read_text()) if (out / "fleet.json").exists() else None}


def _state(doc, name):
    return next(h for h in doc["hosts"] if h["name"] == name)


def test_scan_states_and_exit_code(main_scan):
    proc, doc = main_scan["proc"], main_scan["fleet"]
    assert proc.returncode == 5, proc.stderr
    assert doc is not None and not doc["interrupted"]
    expected = {"sleepy": "timeout", "nopy": "no_python", "garbage": "collector_error",
                "noauth": "auth_failed", "changed": "host_key_mismatch", "unreachable": "unreachable",
                "behind-alias": "ok"}
    for name, state in expected.items():
        assert _state(doc, name)["state"] == state, (name, _state(doc, name), proc.stderr)
        assert _state(doc, name)["message"] or state == "ok"
    assert "CHANGED" in _state(doc, "changed")["message"]
    for i in range(20):
        assert _state(doc, "h%02d" % i)["state"] == "ok", proc.stderr
    assert doc["states"]["ok"] == 21
    assert main_scan["elapsed"] < 45, main_scan["elapsed"]
    # one line per host on a non-TTY stderr
    assert proc.stderr.count("] h0") == 10


def test_hostile_names_rejected_never_used(main_scan):
    doc, out = main_scan["fleet"], main_scan["out"]
    assert len(doc["rejected"]) == 3
    names = {h["name"] for h in doc["hosts"]}
    assert not any("evil" in n or "escape" in n or "id" == n for n in names)
    assert not Path("/tmp/pwned").exists()
    assert not (main_scan["work"] / "escape.json").exists()
    for path in out.iterdir():
        assert path.parent == out and path.name[0] not in ".-$"


def test_per_host_outputs(main_scan):
    out = main_scan["out"]
    for name in ["h00", "h07", "behind-alias"]:
        facts = json.loads((out / (name + ".facts.json")).read_text())
        report = json.loads((out / (name + ".json")).read_text())
        assert facts["schema_version"] and report["target"]["id"] == TARGET
        assert (out / (name + ".html")).read_text().lstrip().lower().startswith("<!doctype html")
    assert not (out / "sleepy.facts.json").exists()


def test_remote_findings_match_local_assess(main_scan, fleet):
    """Finding for finding, each remote host matches `migrate assess --root` of its root."""
    out = main_scan["out"]
    by_root = {}
    for i in range(20):
        root = fleet.roots[ROOT_NAMES[i % len(ROOT_NAMES)]]
        by_root.setdefault(root, []).append("h%02d" % i)
    for root, names in by_root.items():
        local = subprocess.run([sys.executable, "-m", "migrate", "assess", "--root", root, "--target",
                                TARGET, "--json", "--no-facts"], capture_output=True, text=True,
                               timeout=120)
        assert local.returncode in (0, 3, 5), local.stderr
        want = sorted((f["id"], json.dumps(f["subjects"], sort_keys=True), f["severity"])
                      for f in json.loads(local.stdout)["findings"])
        assert want
        for name in names:
            report = json.loads((out / (name + ".json")).read_text())
            got = sorted((f["id"], json.dumps(f["subjects"], sort_keys=True), f["severity"])
                         for f in report["findings"])
            assert got == want, (name, root)
            assert report["summary"]["verdict"] == json.loads(local.stdout)["summary"]["verdict"]


def test_proxyjump_went_through_the_bastion(main_scan, fleet):
    assert _state(main_scan["fleet"], "behind-alias")["state"] == "ok"
    assert "127.0.10.35" in fleet.logs() and "direct-tcpip" in fleet.logs()


def test_rerun_skips_fresh_hosts_unless_rescan(main_scan, fleet):
    out, inv = main_scan["out"], main_scan["inv"]
    before = (out / "h03.facts.json").stat().st_mtime_ns
    proc = scan(fleet, inv, out, "--timeout", "6", "--limit", "fleet")
    doc = json.loads((out / "fleet.json").read_text())
    assert proc.returncode in (0, 3, 5), proc.stderr
    assert len(doc["hosts"]) == 20 and all(h["cached"] and h["state"] == "ok" for h in doc["hosts"])
    assert (out / "h03.facts.json").stat().st_mtime_ns == before
    proc = scan(fleet, inv, out, "--timeout", "6", "--limit", "h03", "--rescan")
    doc = json.loads((out / "fleet.json").read_text())
    assert [(h["name"], h["cached"], h["state"]) for h in doc["hosts"]] == [("h03", False, "ok")]
    assert (out / "h03.facts.json").stat().st_mtime_ns > before


def test_accept_new_host_keys_records_new_refuses_changed(main_scan, fleet, tmp_path):
    known = tmp_path / "known_hosts"
    changed_line = [ln for ln in fleet.known_hosts.read_text().splitlines(True) if "127.0.10.34" in ln][0]
    known.write_text(changed_line)
    inv = tmp_path / "hosts"
    inv.write_text("root@127.0.10.1:%d\nroot@127.0.10.34:%d\n" % (fleet.port, fleet.port))
    base = [sys.executable, "-m", "migrate.fleet.cli", "scan", "-i", str(inv), "--target", TARGET,
            "--known-hosts", str(known), "--ssh-config", str(fleet.ssh_config_path), "--timeout", "6"]
    # without the flag an unknown key is refused too
    proc = subprocess.run(base + ["--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=60)
    doc = json.loads((tmp_path / "a" / "fleet.json").read_text())
    assert [h["state"] for h in doc["hosts"]] == ["host_key_unknown", "host_key_mismatch"], proc.stderr
    proc = subprocess.run(base + ["--out", str(tmp_path / "b"), "--accept-new-host-keys"],
                          capture_output=True, text=True, timeout=60)
    doc = json.loads((tmp_path / "b" / "fleet.json").read_text())
    assert [h["state"] for h in doc["hosts"]] == ["collector_error", "host_key_mismatch"], proc.stderr
    # 127.0.10.1 is a "normal" test host that insists on its own --root: reaching the
    # collector proves the key was accepted; the changed key stayed refused.
    lines = known.read_text().splitlines()
    assert len(lines) == 2 and lines[0] == changed_line.strip()
    assert lines[1] == fleet.host_key_line("127.0.10.1").strip()


def test_ctrl_c_keeps_completed_hosts(fleet, tmp_path):
    normal = [h for h in fleet.hosts if h.mode == "normal" and h.name != "behind"][:3]
    sleepy = [h for h in fleet.hosts if h.mode == "sleep"]
    inv = fleet.inventory_ini(tmp_path / "inv.ini", normal + sleepy)
    out = tmp_path / "out"
    fleet.ssh_config_path = getattr(fleet, "ssh_config_path", None) or fleet.ssh_config()
    proc = subprocess.Popen([sys.executable, "-m", "migrate.fleet.cli", "scan", "-i", str(inv),
                             "--target", TARGET, "--out", str(out), "--known-hosts",
                             str(fleet.known_hosts), "--timeout", "60", "-j", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if all((out / (h.name + ".html")).exists() for h in normal):
                break
            time.sleep(0.1)
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 10
    doc = json.loads((out / "fleet.json").read_text())
    assert doc["interrupted"]
    assert {h["name"]: h["state"] for h in doc["hosts"]} == dict(
        [(h.name, "ok") for h in normal] + [("sleepy", "interrupted")])
    for h in normal:
        assert json.loads((out / (h.name + ".facts.json")).read_text())
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
