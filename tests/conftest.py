"""Shared fixtures: paths, a CLI runner, and small real roots written file by file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Union

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "data" / "samples" / "os-release"

sys.path.insert(0, str(TESTS))  # tests/hostbuild and tests/hosts


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self) -> dict:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return "CliResult(code=%d, stderr=%r)" % (self.code, self.stderr[-2000:])


def run_cli(*args: str, env: Optional[Dict[str, str]] = None, timeout: float = 120) -> CliResult:
    """Run the installed `migrate` entry point exactly as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)
    return CliResult(proc)


@pytest.fixture
def cli():
    return run_cli


def write_tree(root: Path, files: Dict[str, Union[str, bytes]]) -> Path:
    for rel, content in files.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def make_root(tmp_path):
    """A root made of plain files (no rpmdb): for probes that read files."""
    def make(files: Dict[str, Union[str, bytes]], name: str = "root") -> Path:
        return write_tree(tmp_path / name, files)
    return make


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def failing_lines(text: str) -> List[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def built_hosts():
    """Named real test hosts (tests/hosts), built once and cached by content hash."""
    from hostbuild import get_host

    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = get_host(name)
        return cache[name]
    return get
