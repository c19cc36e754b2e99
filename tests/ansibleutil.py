"""Run the real ansible-playbook and ansible-lint of the venv against the sshd test fleet.

Everything Ansible reads or writes is set through ANSIBLE_* variables pointing into the
test's own directory: no ~/.ansible.cfg, no ~/.ansible/tmp, no network. A missing tool
fails the test (scripts/test.sh installs ansible-core and ansible-lint); it never skips.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO / "playbooks"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), "%s is not installed in %s: run scripts/test.sh (pip install -e '.[test]')" % (name, BIN)
    return str(path)


def ansible_env(work: Path, known_hosts: Optional[Path] = None) -> Dict[str, str]:
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "PATH": "%s:%s" % (BIN, env.get("PATH", "")),
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),   # the shipped settings (pipelining, forks)
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(work / "ansible-remote"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "True",
        "ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1",
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    # a short directory: the ControlMaster socket path must fit a Unix socket name (108 bytes)
    if known_hosts is not None:
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = tempfile.mkdtemp(prefix="acp-", dir="/tmp")
        env["ANSIBLE_SSH_ARGS"] = ("-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes "
                                   "-o ControlMaster=auto -o ControlPersist=10s" % known_hosts)
    return env


def run_playbook(playbook: str, inventory: Path, work: Path, known_hosts: Path,
                 extra_vars: Optional[Dict[str, object]] = None, args: List[str] = (),
                 timeout: float = 300) -> subprocess.CompletedProcess:
    import json

    argv = [tool("ansible-playbook"), "-i", str(inventory), str(PLAYBOOKS / playbook)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    argv += list(args)
    env = ansible_env(work, known_hosts)
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=str(work))
    finally:   # ControlMaster processes exit by themselves (ControlPersist) once idle
        shutil.rmtree(env["ANSIBLE_SSH_CONTROL_PATH_DIR"], ignore_errors=True)


def run_lint(path: Path, work: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """ansible-lint with the playbooks' .ansible-lint (production profile, offline), JSON output."""
    argv = [tool("ansible-lint"), "--offline", "-f", "json", "--nocolor"]
    return subprocess.run(argv, capture_output=True, text=True, env=ansible_env(work), timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=str(path))
