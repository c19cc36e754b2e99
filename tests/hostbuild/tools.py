"""Subprocess helpers: argv lists only, a private HOME, clear errors.

Every rpm/rpmbuild/rpmsign call gets `HOME` pointing at a private empty
directory so nothing is read from or written to the real ~/.rpmmacros or
~/.rpmdb, plus LC_ALL=C and TZ=UTC for stable output.
"""

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

_PRIVATE_HOME = None


class ToolError(RuntimeError):
    pass


def private_home() -> str:
    """A per-process empty HOME (no .rpmmacros, no .rpmdb, no .gnupg), removed at exit."""
    global _PRIVATE_HOME
    if _PRIVATE_HOME is None or not os.path.isdir(_PRIVATE_HOME):
        _PRIVATE_HOME = tempfile.mkdtemp(prefix="hostbuild-home-")
        atexit.register(_remove_home, _PRIVATE_HOME, os.getpid())
    return _PRIVATE_HOME


def _remove_home(path: str, owner: int) -> None:
    if os.getpid() == owner:            # not in forked children that inherited it
        shutil.rmtree(path, ignore_errors=True)


def tool_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOME": private_home(),
        "LC_ALL": "C",
        "TZ": "UTC",
    }
    if extra:
        env.update(extra)
    return env


def which(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ToolError("none of %s found on PATH (see tests/hostbuild docstring for packages)"
                    % ", ".join(names))


def run(argv: Sequence[str], env: Optional[Dict[str, str]] = None, input: Optional[bytes] = None,
        cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    """Run argv, raise ToolError with its output on failure."""
    proc = subprocess.run(list(argv), env=tool_env(env), input=input, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise ToolError("%s failed (%d):\n%s\n%s" % (
            " ".join(argv[:6]), proc.returncode,
            proc.stdout.decode("utf-8", "replace")[-4000:],
            proc.stderr.decode("utf-8", "replace")[-4000:]))
    return proc


def run_parallel(argvs: List[List[str]], env: Optional[Dict[str, str]] = None) -> None:
    """Run several argv lists at once; raise on the first failure."""
    procs = []
    for argv in argvs:
        log = tempfile.TemporaryFile()
        procs.append((argv, log, subprocess.Popen(argv, env=tool_env(env), stdout=log,
                                                  stderr=subprocess.STDOUT)))
    errors = []
    for argv, log, proc in procs:
        rc = proc.wait()
        if rc != 0:
            log.seek(0)
            errors.append("%s failed (%d):\n%s" % (" ".join(argv[:6]), rc,
                                                   log.read().decode("utf-8", "replace")[-4000:]))
        log.close()
    if errors:
        raise ToolError("\n".join(errors))


def chunks(items: list, n: int) -> List[list]:
    n = max(1, min(n, len(items)))
    return [items[i::n] for i in range(n)]


def jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))
