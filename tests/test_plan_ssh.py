"""The executor over SSH: the same plan, steps and journal through the SSH runner, against a
real sshd on loopback (tests/sshfleet.py), acting on an installroot on that host with real
dnf and rpm. The host is this machine, so the repo directories are valid paths on both sides.
"""
import fcntl
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from hostbuild import build_host
from hosts import swap
from sshfleet import SshFleet, TestHost
from test_plan_executor import TARGET_SET, journal, os_release_id, rpm_qa, run_cli, tree_digest

ADDRESS = "127.0.77.1"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = SshFleet(tmp_path_factory.mktemp("plan-ssh"))
    f.start([TestHost("migrate-me", ADDRESS, "plain")])
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def built():
    return build_host(swap.swap_host_spec()), swap.source_repo(), swap.target_repo()


@pytest.fixture
def env(built, tmp_path, fleet):
    host, source, target = built
    root = tmp_path / "root"
    shutil.copytree(host.root, root, symlinks=True)
    return {"root": root, "source": source, "target": target, "fleet": fleet}


def ssh_args(env, known_hosts=None):
    f = env["fleet"]
    return ["--host", ADDRESS, "--port", str(f.port), "--user", "root", "--identity", str(f.client_key),
            "--known-hosts", str(known_hosts or f.known_hosts)]


def apply_over_ssh(env, *extra, **kw):
    return run_cli("apply", "--yes", "--json", "--target", "opencloudos-8", "--min-free-mb", "1",
                   "--root", env["root"], "--target-repo", env["target"], "--source-repo", env["source"],
                   "--no-gpgcheck", *ssh_args(env), *extra, **kw)


def test_apply_then_rollback_over_ssh(env):
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    sessions = sftp_sessions(env["fleet"])
    out = json.loads(apply_over_ssh(env, check=0).stdout)
    assert out["state"] == "completed" and out["host"] == ADDRESS
    assert sftp_sessions(env["fleet"]) > sessions   # without --become, files go over SFTP
    assert [s["state"] for s in out["steps"]] == ["done"] * len(out["steps"])
    assert rpm_qa(root) == TARGET_SET and os_release_id(root) == "opencloudos"
    data = journal(root)   # written on the host, through SFTP
    assert data["runner"] == "root@%s:%d" % (ADDRESS, env["fleet"].port)
    verify = [s for s in data["steps"] if s["id"] == "verify"][0]
    assert verify["problems"] == [] and verify["replaced"] == {"centos-tool": "ocs-tool"}
    backup = [s for s in data["steps"] if s["id"] == "backup"][0]
    assert backup["module_streams"] == {"nodejs": "10"} and backup["dnf_history_id"] >= 1
    status = json.loads(run_cli("status", "--json", "--root", root, *ssh_args(env), check=0).stdout)
    assert status["run_id"] == data["run_id"] and status["state"] == "completed"
    out = json.loads(run_cli("rollback", "--json", "--root", root, *ssh_args(env), check=0).stdout)
    assert out["state"] == "rolled_back" and out["rollback_failures"] == []
    assert rpm_qa(root) == before_pkgs
    assert tree_digest(root / "etc") == before_etc


def test_local_and_ssh_runners_plan_the_same_argv(env):
    root = str(env["root"])
    common = ["--target", "opencloudos-8", "--root", root, "--target-repo", env["target"],
              "--source-repo", env["source"], "--no-gpgcheck"]
    local = json.loads(run_cli("plan", "--json", *common, check=0).stdout)
    remote = json.loads(run_cli("plan", "--json", *common, *ssh_args(env), check=0).stdout)

    def normal(plan):
        text = json.dumps(plan["steps"], sort_keys=True)
        return json.loads(text.replace(plan["run_dir"], "RUN_DIR"))
    assert normal(local) == normal(remote)
    assert len(local["steps"]) == 9


def test_unknown_host_key_is_refused_and_nothing_changes(env, tmp_path):
    root = env["root"]
    before = tree_digest(root)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    proc = run_cli("apply", "--yes", "--target", "opencloudos-8", "--root", root, "--no-gpgcheck",
                   "--target-repo", env["target"], *ssh_args(env, known_hosts=empty))
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert "host_key_unknown" in proc.stderr and proc.stderr.count("\n") <= 3   # one-line error
    assert tree_digest(root) == before and empty.read_text() == ""


def test_a_local_run_and_an_ssh_run_share_the_lock(env):
    root = env["root"]
    lockdir = root / "var/lib/migrate"
    lockdir.mkdir(parents=True)
    fd = os.open(str(lockdir / "lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = apply_over_ssh(env)
        assert proc.returncode == 8 and "holds" in proc.stderr
        assert sorted(p.name for p in lockdir.iterdir()) == ["lock"]
    finally:
        os.close(fd)
    assert os_release_id(root) == "centos"


def test_controller_killed_between_steps_releases_the_lock_and_resume_over_ssh_finishes(env):
    """The controller dies (SIGKILL) after distro-sync: the SSH connection drops, the agent
    holding the host's lock sees EOF and exits, and `resume --host` goes on from the journal."""
    root = env["root"]
    proc = apply_over_ssh(env, extra_env={"MIGRATE_TEST_KILL_AFTER_STEP": "distro-sync"})
    assert proc.returncode == -signal.SIGKILL
    data = journal(root)
    assert data["state"] == "running" and data["point_of_no_return_passed"]
    out = json.loads(run_cli("resume", "--json", "--root", root, *ssh_args(env), check=0).stdout)
    assert out["state"] == "completed"
    assert all(len(s["runs"]) == 1 for s in journal(root)["steps"])
    assert rpm_qa(root) == TARGET_SET


@pytest.mark.parametrize("become", [False, True])
def test_ssh_runner_passes_hostile_argv_and_paths_verbatim(env, tmp_path, become):
    from migrate.plan.sshrunner import connect_runner

    f = env["fleet"]
    runner = connect_runner(ADDRESS, user="root", port=f.port, identity=str(f.client_key),
                            known_hosts=str(f.known_hosts), become=become)
    marker = tmp_path / "pwned"
    try:
        hostile = "a b; touch %s $(touch %s) `touch %s` '\"\n\\" % (marker, marker, marker)
        res = runner.run(["printf", "%s", hostile])
        assert res.returncode == 0 and res.output == hostile
        assert not marker.exists()
        assert runner.run(["/nonexistent/binary"]).returncode == 127
        assert runner.run(["sh", "-c", "exit 3"]).returncode == 3
        odd = str(tmp_path / "dir with space" / "na;me $(x)")
        runner.write_atomic(odd, b"content\n")
        assert Path(odd).read_bytes() == b"content\n" and runner.read_bytes(odd) == b"content\n"
        assert runner.read_bytes(str(tmp_path / "missing")) is None
        assert runner.listdir(str(tmp_path / "dir with space")) == ["na;me $(x)"]
        assert runner.listdir(str(tmp_path / "missing")) == []
        assert runner.exists(odd) and not runner.isdir(odd) and runner.isdir(str(tmp_path))
        assert not runner.exists(str(tmp_path / "missing"))
        runner.makedirs(str(tmp_path / "a" / "b"))
        assert (tmp_path / "a" / "b").is_dir()
        big = os.urandom(300000)
        runner.write_atomic(str(tmp_path / "a" / "big"), big, mode=0o600)
        assert runner.read_bytes(str(tmp_path / "a" / "big")) == big
        assert (tmp_path / "a" / "big").stat().st_mode & 0o777 == 0o600
        assert runner.probe(str(tmp_path))["euid"] == 0
        with pytest.raises(TypeError):
            runner.run("echo hi; rm -rf /")
    finally:
        runner.close()


def test_connection_lost_inside_distro_sync_the_host_finishes_the_transaction(env):
    """The controller dies in the middle of the dnf transaction: the SSH connection drops, the
    agent on the host ignores SIGHUP/SIGPIPE and keeps draining dnf into the log on the host;
    dnf completes; `resume --host` reruns the step (nothing left to do) and finishes."""
    from test_plan_executor import has_duplicates, wait_for_no_command_on
    root = env["root"]
    proc = apply_over_ssh(env, extra_env={"MIGRATE_TEST_KILL_INSIDE": "distro-sync:Running transaction:runner"})
    assert proc.returncode == -signal.SIGKILL
    wait_for_no_command_on(root)
    data = journal(root)
    assert {s["id"]: s["state"] for s in data["steps"]}["distro-sync"] == "running"
    logs = sorted((root / "var/lib/migrate" / data["run_id"] / "output").glob("*-dnf.log"))
    assert "Complete!" in logs[-1].read_text()
    assert not has_duplicates(root)
    out = json.loads(run_cli("resume", "--json", "--root", root, *ssh_args(env), check=0).stdout)
    assert out["state"] == "completed" and rpm_qa(root) == TARGET_SET


def sftp_sessions(fleet):
    return sum(1 for program in fleet.programs() if program.endswith("/sftp-server"))


def test_apply_and_rollback_with_become_go_through_sudo_and_the_agent_not_sftp(env):
    """--become: the agent runs under `sudo -n` and reads/writes the journal and backups itself
    (SFTP would act as the login user). Here the login user is root, so this proves the path,
    not a privilege change."""
    root = env["root"]
    before_etc = tree_digest(root / "etc")
    before_pkgs = rpm_qa(root)
    sessions = sftp_sessions(env["fleet"])
    out = json.loads(apply_over_ssh(env, "--become", check=0).stdout)
    assert out["state"] == "completed" and rpm_qa(root) == TARGET_SET
    assert journal(root)["runner"].endswith("(sudo)")
    out = json.loads(run_cli("rollback", "--json", "--become", "--root", root, *ssh_args(env), check=0).stdout)
    assert out["state"] == "rolled_back" and rpm_qa(root) == before_pkgs
    assert tree_digest(root / "etc") == before_etc
    assert sftp_sessions(env["fleet"]) == sessions   # every file went through the agent
    assert "sudo" in env["fleet"].programs()


def test_become_command_is_sudo_n_then_the_constant_agent():
    from migrate.plan.sshrunner import agent_command
    assert agent_command(True).startswith("sudo -n -- /bin/sh -c ")
    assert agent_command(True)[len("sudo -n -- "):] == agent_command(False)
