"""`migrate fleet assess`: a directory of facts files assessed in one process.

The facts are real: `migrate collect --root` of test hosts built by tests/hostbuild. Every
per-host report must equal what `migrate assess --facts` writes for the same facts (the
whole JSON envelope but timings), with the same waivers, needs and target repodata; bad
facts files and hostile names end in per-host states, never in a traceback or a file.
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

from migrate import exitcodes

pytestmark = pytest.mark.integration

TARGET = "opencloudos-8"
HOSTS = ["centos7-minimal", "centos8-k8s", "centos8-clean", "centos8-traits", "centos8-sm"]


def run(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "migrate", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def fleet_assess(facts_dir, *extra, timeout=180):
    return run("fleet", "assess", "--facts-dir", facts_dir, "--target", TARGET, *extra, timeout=timeout)


@pytest.fixture(scope="module")
def target_repo():
    from hosts.targets import opencloudos8_repo
    return str(opencloudos8_repo())


@pytest.fixture(scope="module")
def facts_dir(tmp_path_factory, built_hosts):
    """NAME.facts.json of real test hosts, collected with `migrate collect --root`."""
    d = tmp_path_factory.mktemp("facts")
    for name in HOSTS:
        proc = run("collect", "--root", built_hosts(name).root, "-o", d / (name + ".facts.json"))
        assert proc.returncode in (exitcodes.OK, exitcodes.INCOMPLETE), proc.stderr
    return d


def copy_facts(facts_dir, dest, names):
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(facts_dir / (name + ".facts.json"), dest / (name + ".facts.json"))
    return dest


@pytest.fixture(scope="module")
def waivers(tmp_path_factory):
    path = tmp_path_factory.mktemp("waivers") / "waivers.yml"
    path.write_text("waivers:\n"
                    "  - id: kmod.out_of_tree_rebuild\n    subject: wireguard\n"
                    "    reason: rebuilt for the target kernel\n"
                    "  - id: repos.centos_eol_mirror\n    reason: mirrors are replaced by the swap\n"
                    "  - id: no.such_finding\n    reason: stale\n")
    return path


def _stable(report):
    """A report without what differs between two runs over the same facts (timings)."""
    report = dict(report)
    report.pop("generated_at")
    report["checks"] = [{k: v for k, v in c.items() if k != "duration_ms"} for c in report["checks"]]
    return report


def _findings(report):
    return sorted((f["id"], f["severity"], tuple(f["subjects"]), f["waived"], tuple(f["waived_subjects"]))
                  for f in report["findings"])


@pytest.fixture(scope="module")
def batch(facts_dir, target_repo, waivers, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch-out")
    started = time.monotonic()
    proc = fleet_assess(facts_dir, "--out", out, "--target-repo", target_repo, "--waivers", waivers,
                        "--needs", "io_uring", "--json")
    return {"proc": proc, "out": out, "elapsed": time.monotonic() - started,
            "doc": json.loads((out / "fleet.json").read_text()) if (out / "fleet.json").exists() else None}


def test_reports_equal_migrate_assess_facts_per_host(batch, facts_dir, target_repo, waivers, tmp_path):
    proc, out, doc = batch["proc"], batch["out"], batch["doc"]
    assert doc is not None, proc.stderr
    assert [h["name"] for h in doc["hosts"]] == sorted(HOSTS)
    assert json.loads(proc.stdout) == doc          # --json prints fleet.json's document
    verdicts = set()
    for name in HOSTS:
        single = tmp_path / (name + ".json")
        one = run("assess", "--facts", facts_dir / (name + ".facts.json"), "--target", TARGET,
                  "--target-repo", target_repo, "--waivers", waivers, "--needs", "io_uring", "-o", single)
        assert one.returncode in (exitcodes.OK, exitcodes.BLOCKERS, exitcodes.INCOMPLETE), one.stderr
        mine, theirs = json.loads((out / (name + ".json")).read_text()), json.loads(single.read_text())
        assert mine["findings"] and _findings(mine) == _findings(theirs), name
        assert _stable(mine) == _stable(theirs), name
        assert (out / (name + ".html")).read_text().lstrip().lower().startswith("<!doctype html")
        entry = next(h for h in doc["hosts"] if h["name"] == name)
        unwaived = lambda sev: sum(1 for f in theirs["findings"] if f["severity"] == sev and not f["waived"])
        assert (entry["state"], entry["verdict"], entry["complete"], entry["blockers"], entry["warnings"]) == \
            ("ok", theirs["summary"]["verdict"], theirs["summary"]["complete"], unwaived("blocker"),
             unwaived("warning")), name
        assert entry["files"] == {"facts": name + ".facts.json", "report": name + ".json", "html": name + ".html"}
        verdicts.add(mine["summary"]["verdict"])
    assert len(verdicts) >= 3, verdicts            # not a uniform fleet: the comparison means something
    # the waivers applied to every host: k8s keeps zfs unwaived, the EOL mirror finding is waived
    k8s = json.loads((out / "centos8-k8s.json").read_text())
    oot = next(f for f in k8s["findings"] if f["id"] == "kmod.out_of_tree_rebuild")
    assert (oot["waived"], oot["waived_subjects"], oot["subjects"]) == (False, ["wireguard"], ["wireguard", "zfs"])
    for name in ("centos8-k8s", "centos8-sm", "centos7-minimal"):
        report = json.loads((out / (name + ".json")).read_text())
        assert [f["waived"] for f in report["findings"] if f["id"] == "repos.centos_eol_mirror"] == [True], name
    # one warning for the waiver that matched nothing on any host, none for the others
    assert "no.such_finding" in proc.stderr and "repos.centos_eol_mirror matched" not in proc.stderr


def test_exit_code_and_fleet_document(batch):
    proc, doc = batch["proc"], batch["doc"]
    # centos8-clean and others are incomplete (no kernel config facts for some checks): 5
    assert proc.returncode == exitcodes.INCOMPLETE, proc.stderr
    assert doc["schema_version"] == 1 and doc["target"] == TARGET and not doc["interrupted"]
    assert doc["total"] == len(HOSTS) and doc["states"]["ok"] == len(HOSTS) and doc["rejected"] == []
    assert sum(doc["verdicts"].values()) == len(HOSTS)
    # the same keys as a `fleet scan` host entry, so `migrate report fleet` and readers work unchanged
    from migrate.fleet.states import HostResult
    assert all(set(h) == set(HostResult("x", "ok").to_dict()) for h in doc["hosts"])
    assert not [p for p in batch["out"].iterdir() if p.name.startswith(".")]   # no temp files left


def test_exit_codes_follow_the_verdicts(facts_dir, target_repo, tmp_path):
    k8s = copy_facts(facts_dir, tmp_path / "k8s", ["centos8-k8s"])
    proc = fleet_assess(k8s, "--target-repo", target_repo)
    assert proc.returncode == exitcodes.BLOCKERS, proc.stderr
    # the same host with every blocker waived: complete, no blockers
    w = tmp_path / "w.yml"
    w.write_text("- id: kmod.out_of_tree_rebuild\n  reason: rebuilt\n")
    proc = fleet_assess(k8s, "--target-repo", target_repo, "--waivers", w)
    assert proc.returncode == exitcodes.OK, proc.stderr
    assert json.loads((k8s / "centos8-k8s.json").read_text())["summary"]["blockers"] == 0
    # without target repodata every report is incomplete: 5, unless --allow-incomplete (then 3)
    assert fleet_assess(k8s).returncode == exitcodes.INCOMPLETE
    assert fleet_assess(k8s, "--allow-incomplete").returncode == exitcodes.BLOCKERS
    clean = copy_facts(facts_dir, tmp_path / "clean", ["centos8-clean"])
    assert fleet_assess(clean, "--target-repo", target_repo).returncode == exitcodes.INCOMPLETE
    assert fleet_assess(clean, "--target-repo", target_repo, "--allow-incomplete").returncode == exitcodes.OK
    # a host without usable facts keeps it 5 even with --allow-incomplete
    (clean / "broken.facts.json").write_text("{")
    assert fleet_assess(clean, "--target-repo", target_repo, "--allow-incomplete").returncode == \
        exitcodes.INCOMPLETE


@pytest.mark.parametrize("extra, problem", [
    (["--target", "no-such-target"], "target"),
    (["--waivers", "{missing}"], "waiver"),
    (["--needs", "frobnicate=="], "needs"),
])
def test_bad_input_is_exit_2_before_any_host(facts_dir, tmp_path, extra, problem):
    d = copy_facts(facts_dir, tmp_path / "d", ["centos8-sm"])
    extra = [x.replace("{missing}", str(tmp_path / "missing.yml")) for x in extra]
    proc = run("fleet", "assess", "--facts-dir", d, "--target", TARGET, *extra)
    assert proc.returncode == exitcodes.BAD_INPUT, (problem, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (d / "centos8-sm.json").exists() and not (d / "fleet.json").exists()


def test_no_facts_files_or_no_directory_is_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    for d in (tmp_path / "empty", tmp_path / "missing"):
        proc = fleet_assess(d)
        assert proc.returncode == exitcodes.BAD_INPUT, proc.stderr
        assert "Traceback" not in proc.stderr
    assert fleet_assess(tmp_path / "missing", "--hosts", "a").returncode == exitcodes.BAD_INPUT


def test_bad_facts_files_end_in_a_per_host_state(facts_dir, tmp_path):
    d = copy_facts(facts_dir, tmp_path / "d", ["centos8-sm"])
    good = json.loads((d / "centos8-sm.facts.json").read_text())
    (d / "malformed.facts.json").write_text('{"schema_version": 3, "packages": [')
    (d / "empty.facts.json").write_text("")
    (d / "binary.facts.json").write_bytes(b"\xff\xfe\x00garbage")
    (d / "list.facts.json").write_text("[1, 2]\n")
    (d / "stale.facts.json").write_text(json.dumps(dict(good, schema_version=1)))
    (d / "future.facts.json").write_text(json.dumps(dict(good, schema_version=99)))
    (d / "dangling.facts.json").symlink_to(tmp_path / "nowhere.json")
    (d / "dir.facts.json").mkdir()
    broken = ["binary", "dangling", "dir", "empty", "future", "list", "malformed", "stale"]
    proc = fleet_assess(d, "--hosts", ",".join(broken + ["centos8-sm", "absent"]), "--allow-incomplete")
    assert proc.returncode == exitcodes.INCOMPLETE, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    doc = json.loads((d / "fleet.json").read_text())
    states = {h["name"]: h for h in doc["hosts"]}
    assert set(states) == set(broken) | {"centos8-sm", "absent"}
    assert states["centos8-sm"]["state"] == "ok"
    assert doc["states"]["collector_error"] == len(broken) + 1
    for name in broken + ["absent"]:
        entry = states[name]
        assert entry["state"] == "collector_error", entry
        assert entry["message"] and "\n" not in entry["message"] and name in entry["message"], entry
        assert entry["verdict"] is None and entry["files"] == {}
        assert not (d / (name + ".json")).exists() and not (d / (name + ".html")).exists()
    assert "schema_version" in states["stale"]["message"] and "schema_version" in states["future"]["message"]
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_hostile_names_are_rejected_and_never_used(facts_dir, tmp_path):
    d = copy_facts(facts_dir, tmp_path / "d", ["centos8-sm"])
    out = tmp_path / "out"
    content = (d / "centos8-sm.facts.json").read_bytes()
    for hostile in ["$(touch pwned)", "-rf", ".hidden", "a b", "x\ny", "évil", "fleet"]:
        (d / (hostile + ".facts.json")).write_bytes(content)
    proc = fleet_assess(d, "--out", out)
    doc = json.loads((out / "fleet.json").read_text())
    assert proc.returncode == exitcodes.INCOMPLETE, proc.stderr
    assert [h["name"] for h in doc["hosts"]] == ["centos8-sm"]
    assert sorted(r["host"] for r in doc["rejected"]) == sorted(
        repr(n) for n in ["$(touch pwned)", "-rf", ".hidden", "a b", "x\ny", "évil", "fleet"])
    assert sorted(p.name for p in out.iterdir()) == ["centos8-sm.html", "centos8-sm.json", "fleet.json"]
    # named on the command line: path tricks are rejected, not resolved
    (tmp_path / "outside.facts.json").write_bytes(content)
    proc = fleet_assess(d, "--out", out, "--hosts", "../outside,sub/x,/etc/passwd,centos8-sm,centos8-sm")
    doc = json.loads((out / "fleet.json").read_text())
    assert proc.returncode == exitcodes.INCOMPLETE, proc.stderr
    assert [h["name"] for h in doc["hosts"]] == ["centos8-sm"]
    assert sorted(r["host"] for r in doc["rejected"]) == sorted(repr(n) for n in ["../outside", "sub/x", "/etc/passwd"])
    assert not (tmp_path / "outside.json").exists() and not Path("pwned").exists()
    assert not (d / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_ipv6_names_use_the_scanners_file_names(facts_dir, tmp_path):
    """`fe80::1` is a valid inventory name; its files are fe80__1.* as `fleet scan` writes them."""
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(facts_dir / "centos8-sm.facts.json", d / "fe80__1.facts.json")
    proc = fleet_assess(d, "--hosts", "fe80::1", "--allow-incomplete")
    assert proc.returncode == exitcodes.OK, proc.stderr
    doc = json.loads((d / "fleet.json").read_text())
    assert [(h["name"], h["state"], h["files"]["report"]) for h in doc["hosts"]] == \
        [("fe80::1", "ok", "fe80__1.json")]
    assert json.loads((d / "fe80__1.json").read_text())["target"]["id"] == TARGET


def test_report_fleet_reads_the_output(batch, tmp_path):
    from migrate.reports.fleet import fleet_model

    html = tmp_path / "fleet.html"
    proc = run("report", "fleet", batch["out"], "-o", html)
    assert proc.returncode in (exitcodes.OK, exitcodes.INCOMPLETE), proc.stderr
    text = html.read_text()
    for name in HOSTS:
        assert name + ".html" in text
    model = fleet_model(str(batch["out"]))
    assert model["assessed"] == len(HOSTS)
    assert sorted(h["file"] for h in model["hosts"]) == sorted(name + ".json" for name in HOSTS)


def test_report_fleet_does_not_count_fleet_json_as_a_host(batch, tmp_path):
    proc = run("report", "fleet", batch["out"], "-o", tmp_path / "fleet.html")
    assert proc.returncode == exitcodes.OK, proc.stderr
    from migrate.reports.fleet import fleet_model
    model = fleet_model(str(batch["out"]))
    assert model["fleet_document"] is True and model["unassessed"] == []
    assert "fleet.json" not in [h["file"] for h in model["hosts"]]


def test_ctrl_c_keeps_the_finished_hosts(facts_dir, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    content = (facts_dir / "centos8-k8s.facts.json").read_bytes()
    names = ["h%03d" % i for i in range(400)]
    for name in names:
        (d / (name + ".facts.json")).write_bytes(content)
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "fleet", "assess", "--facts-dir", str(d),
                             "--target", TARGET], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (d / "h005.json").exists():
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == exitcodes.INTERRUPTED, err
    doc = json.loads((d / "fleet.json").read_text())
    assert doc["interrupted"] and [h["name"] for h in doc["hosts"]] == names
    done = [h["name"] for h in doc["hosts"] if h["state"] == "ok"]
    assert done and done == names[:len(done)] and len(done) < len(names)
    assert all(h["state"] == "interrupted" for h in doc["hosts"][len(done):])
    for name in done:
        assert json.loads((d / (name + ".json")).read_text())["target"]["id"] == TARGET
    assert not [p for p in d.iterdir() if p.name.startswith(".")]     # no half-written file


def test_help_names_the_options():
    proc = run("fleet", "assess", "--help")
    assert proc.returncode == 0
    for option in ("--facts-dir", "--hosts", "--waivers", "--needs-file", "--allow-incomplete", "--out"):
        assert option in proc.stdout
