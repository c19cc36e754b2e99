"""The remote command: one SSH session that finds a Python and runs the collector.

The command is a fixed POSIX sh script; the only variable parts (collector arguments
such as --root) are passed as positional parameters, each quoted with shlex.quote.
The script tries /usr/libexec/platform-python, python3, python2 in that order and
execs the first one found reading the collector source from stdin (`python - ARGS`).
"""
from __future__ import annotations

import shlex
from typing import Any, Dict, List, Optional

NO_PYTHON_EXIT = 97
NO_PYTHON_MARK = "migrate-fleet: no python"


def interpreter_prologue(python_args: str) -> str:
    """A fixed sh script that execs the host's first Python with `python_args` (sh words
    referring to the script's positional parameters, never to data)."""
    return (
        'for p in /usr/libexec/platform-python python3 python2; do '
        'case "$p" in '
        '/*) [ -x "$p" ] && exec "$p" ' + python_args + ' ;; '
        '*) command -v "$p" >/dev/null 2>&1 && exec "$p" ' + python_args + ' ;; '
        'esac; '
        'done; '
        'echo "' + NO_PYTHON_MARK + ' (tried /usr/libexec/platform-python, python3, python2)" >&2; '
        'exit ' + str(NO_PYTHON_EXIT)
    )


PROLOGUE = interpreter_prologue('- "$@"')

_SOURCES: Dict[str, bytes] = {}


def module_source(module: Any) -> bytes:
    """A module's source, exactly what a local run imports (read once per process)."""
    path = module.__file__
    if path not in _SOURCES:
        with open(path[:-1] if path.endswith((".pyc", ".pyo")) else path, "rb") as handle:
            _SOURCES[path] = handle.read()
    return _SOURCES[path]


def collector_source() -> bytes:
    """The collector module's source, exactly what a local run imports."""
    from migrate import collector
    return module_source(collector)


def remote_command(root: Optional[str] = None, become: bool = False,
                   collector_timeout: Optional[float] = None) -> str:
    """The command string sent over SSH (run by the remote user's shell)."""
    args: List[str] = []
    if root:
        args += ["--root", root]
    if collector_timeout:
        args += ["--timeout", "%g" % collector_timeout]
    argv = ["/bin/sh", "-c", PROLOGUE, "migrate-collect"] + args
    if become:
        argv = ["sudo", "-n", "--"] + argv
    return " ".join(shlex.quote(a) for a in argv)


__all__ = ["NO_PYTHON_EXIT", "NO_PYTHON_MARK", "collector_source", "interpreter_prologue", "module_source",
           "remote_command"]
