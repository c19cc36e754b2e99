"""migrate plan/apply/status/rollback/resume on a real installroot with real dnf and rpm.

The host (tests/hosts/swap.py) is CentOS 8-like, installed by dnf from a source repo; the
target repo is OpenCloudOS 8-like. Every test works on its own copy of the cached root.
"""
import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hostbuild import build_host
from hosts import swap

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (shutil.which("dnf") and shutil.which("rpm") and shutil.which("createrepo_c")),
                                reason="needs dnf, rpm and createrepo_c")

TARGET_SET = {"bash-4.4.20-2.oc8.x86_64", "kernel-4.18.0-348.7.1.el8_5.x86_64", "kernel-5.4.119-19.0010.oc8.x86_64",
              "ocs-tool-1.1-1.oc8.x86_64", "opencloudos-release-8.6-1.oc8.noarch", "tzdata-2022a-1.oc8.noarch"}


@pytest.fixture(scope="module")
def built():
    return build_host(swap.swap_host_spec()), swap.source_repo(), swap.target_repo()


@pytest.fixture
def env(built, tmp_path):
    host, source, target = built
    root = tmp_path / "root"
    shutil.copytree(host.root, root, symlinks=True)
    return {"root": root, "source": source, "target": target}


def run_cli(*args, extra_env=None, check=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(extra_env or {})
    proc = subprocess.run([sys.executable, "-m", "migrate.plan.cli"] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO),
                          timeout=300)
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def repo_args(env, source=True):
    out = ["--root", env["root"], "--target-repo", env["target"], "--no-gpgcheck"]
    return out + (["--source-repo", env["source"]] if source else [])


def apply_args(env, source=True):
    return ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1"] + repo_args(env, source)


def tree_digest(root, skip=()):
    """name -> (type, mode, content digest or link target) of every entry under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in skip)
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", oct(st.st_mode))
            else:
                out[rel] = ("f", oct(st.st_mode), hashlib.sha256(Path(path).read_bytes()).hexdigest())
    return out


def rpm_qa(root):
    out = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-qa"], check=True,
                         stdout=subprocess.PIPE, text=True, env=dict(os.environ, HOME=str(root / "nonexistent")))
    return {line for line in out.stdout.split() if not line.startswith("gpg-pubkey")}


def journal(root):
    runs = sorted((root / "var/lib/migrate").glob("*/journal.json"))
    assert runs, "no journal"
    return json.loads(runs[-1].read_text())


def os_release_id(root):
    for line in (root / "etc/os-release").read_text().splitlines():
        if line.startswith("ID="):
            return line[3:].strip('"')
    return None


def test_plan_prints_exact_argv_and_point_of_no_return(env):
    before = tree_digest(env["root"])
    proc = run_cli("plan", "--target", "opencloudos-8", *repo_args(env), check=0)
    text = proc.stdout
    assert "POINT OF NO RETURN" in text
    assert text.index("POINT OF NO RETURN") < text.index("[distro-sync]") and \
        text.index("[swap-release]") < text.index("POINT OF NO RETURN")
    assert "swap centos-linux-release opencloudos-release" in text
    plan = json.loads(run_cli("plan", "--json", "--target", "opencloudos-8", *repo_args(env), check=0).stdout)
    ids = [s["id"] for s in plan["steps"]]
    assert ids == ["preflight", "backup", "disable-source-repos", "install-target-repos", "swap-release",
                   "distro-sync", "kernel", "remove-source-branding", "verify"]
    assert [s["id"] for s in plan["steps"] if s["point_of_no_return"]] == ["distro-sync"]
    root = str(env["root"])
    for step in plan["steps"]:
        for command in step["commands"] + step["rollback"]:
            argv = command["argv"]
            assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
            if argv[0] == "dnf":   # never the real system, never the host's repos or plugins
                assert "--installroot=%s" % root in argv and "--noplugins" in argv
                assert "--releasever=8" in argv
                assert any(a.startswith("--setopt=reposdir=%s/" % root) for a in argv)
            if argv[0] == "rpm":
                assert argv[1:5] == ["--root", root, "--dbpath", "/var/lib/rpm"]
    # plan reads only
    assert tree_digest(env["root"]) == before


def test_apply_swaps_installroot_with_real_dnf(env):
    root = env["root"]
    run_cli(*apply_args(env), check=0)
    assert rpm_qa(root) == TARGET_SET
    assert os_release_id(root) == "opencloudos"
    repos = sorted(p.name for p in (root / "etc/yum.repos.d").iterdir())
    assert repos == ["CentOS-Linux-BaseOS.repo.migrate-disabled", "OpenCloudOS.repo", "migrate-opencloudos-8.repo"]
    data = journal(root)
    assert data["state"] == "completed" and data["point_of_no_return_passed"]
    for step in data["steps"]:
        assert step["state"] == "done", step
        assert step["started"] and step["ended"]
        for command in step["runs"][-1]:
            assert command["exit_code"] == 0 and isinstance(command["argv"], list)
    verify = [s for s in data["steps"] if s["id"] == "verify"][0]
    assert verify["not_from_target"] == [] and verify["problems"] == []
    backup = [s for s in data["steps"] if s["id"] == "backup"][0]
    assert backup["module_streams"] == {"nodejs": "10"} and backup["dnf_history_id"] >= 1
    run_dir = root / "var/lib/migrate" / data["run_id"]
    origins = dict(line.split(" ", 1) for line in (run_dir / "after-from-repo.txt").read_text().splitlines())
    assert origins["bash"] == "migrate-target-0" and origins["ocs-tool"] == "migrate-target-0"
    qa = (run_dir / "backup/rpm-qa.txt").read_text()
    assert "centos-linux-release\t0:8.5-1.2111.el8.noarch\tCentOS" in qa
    assert not (root / "root/.rpmdb").exists()
    status = run_cli("status", "--root", root, check=0).stdout
    assert "completed" in status and "point of no return" in status
    report = data["report"]
    assert report["packages_before"] == 8 and report["packages_after"] == 6
    assert report["updated"] == ["bash", "kernel", "tzdata"] and report["added"] == ["ocs-tool", "opencloudos-release"]
    assert report["removed"] == ["centos-gpg-keys", "centos-linux-release", "centos-linux-repos", "centos-logos",
                                 "centos-tool"]
    assert report["replaced"] == {"centos-tool": "ocs-tool"} and report["command_seconds"] > 0


def test_rollback_restores_files_byte_for_byte_and_release_package(env):
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    run_cli(*apply_args(env), check=0)
    assert rpm_qa(root) == TARGET_SET
    proc = run_cli("rollback", "--root", root, check=0)
    assert "rolled_back" in proc.stdout
    assert rpm_qa(root) == before_pkgs
    assert tree_digest(root / "etc") == before_etc
    assert os_release_id(root) == "centos"
    data = journal(root)
    assert data["state"] == "rolled_back"
    assert all(s["state"] == "rolled_back" for s in data["steps"])


def test_rollback_without_source_repo_uses_backed_up_repo_files(env):
    """Without --source-repo, rollback's dnf reads the backed-up .repo files (here they point at a dead
    mirror, so the package part fails) - and every failure is reported while file restores go on."""
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    run_cli(*apply_args(env, source=False), check=0)
    proc = run_cli("rollback", "--root", root)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    data = journal(root)
    assert data["state"] == "rollback_failed" and data["rollback_failures"]
    assert "rollback of distro-sync failed" in proc.stderr
    # file restores still ran: /etc/yum.repos.d and the release files are back byte for byte
    after = tree_digest(root / "etc")
    for rel in ("yum.repos.d/CentOS-Linux-BaseOS.repo", "os-release", "centos-release", "default/grub",
                "dnf/modules.d/nodejs.module"):
        assert after[rel] == before_etc[rel]
    dnf_cmds = [c for s in data["steps"] for r in s["rollback_runs"] for c in r
                if c.get("argv") and c["argv"][0] == "dnf"]
    assert dnf_cmds and all(any("backup/files/etc/yum.repos.d" in a for a in c["argv"]) for c in dnf_cmds)


def test_rollback_continues_past_a_failed_restore(env):
    root = env["root"]
    before_pkgs = rpm_qa(root)
    run_cli(*apply_args(env), check=0)
    run_dir = root / "var/lib/migrate" / journal(root)["run_id"]
    (run_dir / "backup/files/etc/default/grub").unlink()      # one restore will fail
    proc = run_cli("rollback", "--root", root)
    assert proc.returncode == 7
    data = journal(root)
    assert data["rollback_failures"] == ["backup"]
    assert "rollback of backup failed" in proc.stderr
    assert rpm_qa(root) == before_pkgs        # the package rollback before it still ran
    assert os_release_id(root) == "centos"    # and the other restores of the same step too


def test_apply_refuses_with_unwaived_blocker_and_changes_nothing(env, tmp_path):
    root = env["root"]
    fips = root / "proc/sys/crypto/fips_enabled"
    fips.parent.mkdir(parents=True)
    fips.write_text("1\n")
    before = tree_digest(root)
    proc = run_cli(*apply_args(env))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "system.fips_enabled" in proc.stderr and "nothing was changed" in proc.stderr
    assert tree_digest(root) == before
    # waived: the dry run shows the plan, says so, and still changes nothing
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - id: system.fips_enabled\n    reason: test\n")
    proc = run_cli(*apply_args(env), "--dry-run", "--waivers", waivers, check=0)
    assert "dry run: nothing was changed" in proc.stdout and "POINT OF NO RETURN" in proc.stdout
    assert tree_digest(root) == before


STEP_IDS = ["preflight", "backup", "disable-source-repos", "install-target-repos", "swap-release",
            "distro-sync", "kernel", "remove-source-branding", "verify"]


@pytest.mark.parametrize("then", ["resume", "rollback"])
@pytest.mark.parametrize("kill_after", range(1, len(STEP_IDS)))
def test_sigkill_at_every_step_boundary(env, kill_after, then):
    """SIGKILL after step N (every boundary): resume finishes without redoing a step, or
    rollback restores every backed-up file and the package list."""
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    proc = run_cli(*apply_args(env), extra_env={"MIGRATE_TEST_KILL_AFTER_STEP": str(kill_after)})
    assert proc.returncode == -signal.SIGKILL
    data = journal(root)
    assert data["state"] == "running"
    states = [s["state"] for s in data["steps"]]
    assert states == ["done"] * kill_after + ["pending"] * (len(states) - kill_after)
    assert data["point_of_no_return_passed"] == (kill_after >= STEP_IDS.index("distro-sync") + 1)
    if then == "resume":
        assert "running" in run_cli("status", "--root", root, check=0).stdout
        run_cli("resume", "--root", root, check=0)
        data = journal(root)
        assert data["state"] == "completed" and len(data["resumes"]) == 1
        assert data["resumes"][0]["problems"] == []
        assert all(len(s["runs"]) == 1 for s in data["steps"])   # nothing ran twice
        assert rpm_qa(root) == TARGET_SET and os_release_id(root) == "opencloudos"
    else:
        run_cli("rollback", "--root", root, check=0)
        assert journal(root)["state"] == "rolled_back"
        assert rpm_qa(root) == before_pkgs
        assert tree_digest(root / "etc") == before_etc
        assert os_release_id(root) == "centos"


def test_resume_refuses_when_the_host_no_longer_passes_preflight(env):
    """Between the crash and the resume the disk filled up: resume re-checks and stops."""
    root = env["root"]
    proc = run_cli(*apply_args(env), extra_env={"MIGRATE_TEST_KILL_AFTER_STEP": "swap-release"})
    assert proc.returncode == -signal.SIGKILL
    path = sorted((root / "var/lib/migrate").glob("*/journal.json"))[-1]
    data = json.loads(path.read_text())
    data["min_free_mb"] = 1 << 40   # more than any disk has
    path.write_text(json.dumps(data))
    before = rpm_qa(root)
    proc = run_cli("resume", "--root", root)
    assert proc.returncode == 6, proc.stdout + proc.stderr
    data = journal(root)
    assert "free" in data["resumes"][-1]["problems"][0]
    assert {s["id"]: s["state"] for s in data["steps"]}["distro-sync"] == "pending"
    assert rpm_qa(root) == before


def test_rollback_after_sigkill_past_point_of_no_return(env):
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    proc = run_cli(*apply_args(env), extra_env={"MIGRATE_TEST_KILL_AFTER_STEP": "distro-sync"})
    assert proc.returncode == -signal.SIGKILL
    assert journal(root)["point_of_no_return_passed"]
    run_cli("rollback", "--root", root, check=0)
    assert rpm_qa(root) == before_pkgs
    assert tree_digest(root / "etc") == before_etc


def test_concurrent_run_is_refused_by_the_lock(env):
    root = env["root"]
    before_pkgs = rpm_qa(root)
    lockdir = root / "var/lib/migrate"
    lockdir.mkdir(parents=True)
    fd = os.open(str(lockdir / "lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = run_cli(*apply_args(env))
        assert proc.returncode == 8 and "holds" in proc.stderr
        assert sorted(p.name for p in lockdir.iterdir()) == ["lock"]   # no run directory was started
        assert rpm_qa(root) == before_pkgs and os_release_id(root) == "centos"
    finally:
        os.close(fd)
    run_cli(*apply_args(env), check=0)   # the lock released, the same root migrates


def test_runner_takes_argv_lists_only():
    from migrate.plan.runner import LocalRunner
    with pytest.raises(TypeError):
        LocalRunner().run("echo hi; rm -rf /")
    res = LocalRunner().run(["printf", "%s", "a b; c"])
    assert res.returncode == 0 and res.output == "a b; c"
    assert LocalRunner().run(["/nonexistent/binary"]).returncode == 127


def test_failed_step_stops_the_run_and_rolls_back_before_point_of_no_return(env):
    """A target repo without the target release package: swap-release fails, nothing after it runs."""
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    args = ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1", "--root", root,
            "--target-repo", env["source"], "--source-repo", env["source"], "--no-gpgcheck"]
    proc = run_cli(*args)
    assert proc.returncode == 6, proc.stdout + proc.stderr
    assert "swap-release failed; before the point of no return" in proc.stderr
    data = journal(root)
    assert data["state"] == "failed" and not data["point_of_no_return_passed"]
    states = {s["id"]: s["state"] for s in data["steps"]}
    assert states["swap-release"] == "failed" and states["distro-sync"] == "pending"
    failed = [s for s in data["steps"] if s["id"] == "swap-release"][0]["runs"][-1][-1]
    assert failed["exit_code"] != 0 and "opencloudos-release" in failed["output_tail"]
    run_cli("rollback", "--root", root, check=0)
    assert rpm_qa(root) == before_pkgs
    assert tree_digest(root / "etc") == before_etc


def test_signed_target_repo_with_gpg_key_and_gpgcheck_on(env):
    """--gpg-key installs and imports the target key; dnf checks every signature (no --nogpgcheck)."""
    root = env["root"]
    before_pkgs = rpm_qa(root)
    before_etc = tree_digest(root / "etc")
    signed, key = swap.target_repo(signed=True), swap.target_pubkey()
    args = ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1", "--root", root,
            "--target-repo", signed, "--gpg-key", key, "--source-repo", env["source"]]
    plan = run_cli("plan", *[a for a in args[2:] if a not in ("--min-free-mb", "1")], check=0).stdout
    assert "--nogpgcheck" not in plan and "--import %s/etc/pki/rpm-gpg/pubkey.asc" % root in plan
    run_cli(*args, check=0)
    assert rpm_qa(root) == TARGET_SET
    repo = (root / "etc/yum.repos.d/migrate-opencloudos-8.repo").read_text()
    assert "gpgcheck=1" in repo and "gpgkey=file://%s/etc/pki/rpm-gpg/pubkey.asc" % root in repo
    # the source test repo is unsigned: rollback is told so explicitly
    run_cli("rollback", "--root", root, "--no-gpgcheck", check=0)
    assert rpm_qa(root) == before_pkgs
    assert tree_digest(root / "etc") == before_etc
    allq = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-qa", "gpg-pubkey*"],
                          stdout=subprocess.PIPE, text=True).stdout
    assert allq.strip() == ""   # the imported key is gone again


def test_signed_target_repo_without_key_fails_before_point_of_no_return(env):
    root = env["root"]
    args = ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1", "--root", root,
            "--target-repo", swap.target_repo(signed=True)]
    proc = run_cli(*args)
    assert proc.returncode == 6, proc.stdout + proc.stderr
    data = journal(root)
    assert {s["id"]: s["state"] for s in data["steps"]}["swap-release"] == "failed"
    assert not data["point_of_no_return_passed"] and os_release_id(root) == "centos"


def test_apply_refuses_while_a_run_is_unfinished_or_completed(env):
    root = env["root"]
    proc = run_cli(*apply_args(env), extra_env={"MIGRATE_TEST_KILL_AFTER_STEP": "3"})
    assert proc.returncode == -signal.SIGKILL
    before = tree_digest(root)
    proc = run_cli(*apply_args(env))
    assert proc.returncode == 2 and "resume" in proc.stderr and "rollback" in proc.stderr
    assert tree_digest(root) == before
    run_cli("resume", "--root", root, check=0)
    proc = run_cli(*apply_args(env))
    assert proc.returncode == 2 and "already migrated" in proc.stderr
    run_cli("rollback", "--root", root, check=0)
    run_cli(*apply_args(env), check=0)      # after a rollback a new run may start
    assert len(list((root / "var/lib/migrate").glob("*/journal.json"))) == 2


def test_resume_retries_a_failed_step(env, tmp_path):
    """The target mirror lacks the release package, swap-release fails; the mirror is fixed and
    `migrate resume` retries that step and finishes, without redoing the steps before it."""
    root = env["root"]
    mirror = tmp_path / "mirror"
    shutil.copytree(env["source"], mirror)
    args = ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1", "--root", root,
            "--target-repo", mirror, "--source-repo", env["source"], "--no-gpgcheck"]
    assert run_cli(*args).returncode == 6
    shutil.rmtree(mirror)
    shutil.copytree(env["target"], mirror)
    run_cli("resume", "--root", root, check=0)
    data = journal(root)
    runs = {s["id"]: len(s["runs"]) for s in data["steps"]}
    assert runs["backup"] == 1 and runs["swap-release"] == 2 and data["state"] == "completed"
    assert rpm_qa(root) == TARGET_SET


def has_duplicates(root):
    names = [p.rsplit("-", 2)[0] for p in rpm_qa(root) if not p.startswith("kernel-")]
    return len(names) != len(set(names))


@pytest.mark.parametrize("then", ["resume", "rollback"])
def test_sigkill_inside_distro_sync_transaction(env, then):
    """The executor and dnf are SIGKILLed together in the middle of the rpm transaction (after the
    new builds are in, while the old ones are erased): old and new builds sit side by side."""
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    proc = run_cli(*apply_args(env), extra_env={"MIGRATE_TEST_KILL_INSIDE": "distro-sync:Cleanup"})
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    data = journal(root)
    assert {s["id"]: s["state"] for s in data["steps"]}["distro-sync"] == "running"
    half = rpm_qa(root)
    # killed while old builds were being erased: some package is installed twice
    assert half != before_pkgs and half != TARGET_SET and has_duplicates(root)
    if then == "resume":
        run_cli("resume", "--root", root, check=0)
        data = journal(root)
        sync = [s for s in data["steps"] if s["id"] == "distro-sync"][0]
        assert sync["duplicates_found"] and len(sync["runs"]) == 2
        assert sync["runs"][-1][0]["argv"][-2:] == ["remove", "--duplicates"]
        assert data["state"] == "completed"
        assert rpm_qa(root) == TARGET_SET and os_release_id(root) == "opencloudos"
    else:
        run_cli("rollback", "--root", root, check=0)
        assert rpm_qa(root) == before_pkgs
        assert tree_digest(root / "etc") == before_etc


def test_apply_without_yes_and_without_a_terminal_refuses_and_changes_nothing(env):
    root = env["root"]
    before = tree_digest(root)
    proc = run_cli(*[a for a in apply_args(env) if a != "--yes"])
    assert proc.returncode == 2 and "--yes" in proc.stderr
    assert tree_digest(root) == before


def test_branding_a_third_party_package_needs_is_kept_not_removed_with_it(tmp_path):
    """acme-portal (vendor Acme) requires centos-logos: `dnf remove centos-logos` would take
    acme-portal with it. The run keeps centos-logos, says why, and verify accepts the vendor
    package as third party."""
    host = build_host(swap.swap_host_spec(third_party=True))
    root = tmp_path / "root"
    shutil.copytree(host.root, root, symlinks=True)
    env = {"root": root, "source": swap.source_repo(), "target": swap.target_repo()}
    run_cli(*apply_args(env), check=0)
    after = rpm_qa(root)
    assert "acme-portal-2.0-1.x86_64" in after and "centos-logos-85.8-2.el8.x86_64" in after
    assert after - {"acme-portal-2.0-1.x86_64", "centos-logos-85.8-2.el8.x86_64"} == TARGET_SET
    steps = {s["id"]: s for s in journal(root)["steps"]}
    assert steps["remove-source-branding"]["removed"] == []
    assert list(steps["remove-source-branding"]["kept"]) == ["centos-logos"]
    assert "acme-portal" in steps["remove-source-branding"]["kept"]["centos-logos"]
    verify = steps["verify"]
    assert verify["kept_branding"] == ["centos-logos"] and verify["third_party"] == ["acme-portal"]
    assert verify["lost"] == [] and verify["replaced"] == {"centos-tool": "ocs-tool"}


def wait_for_no_command_on(root, timeout=120):
    """Wait until no process is working on `root` (its argv names it): the orphaned dnf."""
    import time
    needle = str(root).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                cmdline = Path("/proc", pid, "cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmdline:
                busy = True
                break
        if not busy:
            return
        time.sleep(0.1)
    raise AssertionError("a command on %s is still running" % root)


def test_runner_killed_inside_distro_sync_leaves_the_transaction_running_to_its_end(env):
    """Only migrate dies (a dropped terminal): dnf runs in its own session writing to a file
    on the host, so the transaction completes; resume reruns the step (nothing left to do)."""
    root = env["root"]
    proc = run_cli(*apply_args(env), extra_env={"MIGRATE_TEST_KILL_INSIDE": "distro-sync:Running transaction:runner"})
    assert proc.returncode == -signal.SIGKILL
    wait_for_no_command_on(root)
    data = journal(root)
    sync = [s for s in data["steps"] if s["id"] == "distro-sync"][0]
    assert sync["state"] == "running"
    logs = sorted((root / "var/lib/migrate" / data["run_id"] / "output").glob("*-dnf.log"))
    assert "Complete!" in logs[-1].read_text()   # the orphaned dnf finished and its output was kept
    assert not has_duplicates(root)
    run_cli("resume", "--root", root, check=0)
    data = journal(root)
    sync = [s for s in data["steps"] if s["id"] == "distro-sync"][0]
    assert len(sync["runs"]) == 2 and sync["duplicates_found"] == []
    assert sync["runs"][-1][-1]["log"].startswith("output/")
    assert data["state"] == "completed" and rpm_qa(root) == TARGET_SET
