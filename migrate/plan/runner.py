"""Runners execute argv lists (never shell strings). LocalRunner now; an SSH runner later."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

TAIL = 4000  # characters of output kept in the journal


@dataclass
class Result:
    argv: List[str]
    returncode: int
    output: str  # stdout+stderr, interleaved

    @property
    def tail(self) -> str:
        return self.output[-TAIL:]


class Runner:
    """Runs one command on the host being migrated."""

    def run(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
            timeout: Optional[float] = None) -> Result:
        raise NotImplementedError


class LocalRunner(Runner):
    def run(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
            timeout: Optional[float] = None) -> Result:
        if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
            raise TypeError("a Runner takes an argv list of strings, not %r" % (argv,))
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["LC_ALL"] = "C"
        try:
            proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=full_env, timeout=timeout)
        except FileNotFoundError as exc:
            return Result(list(argv), 127, str(exc))
        except subprocess.TimeoutExpired as exc:
            out = exc.output.decode("utf-8", "replace") if exc.output else ""
            return Result(list(argv), 124, out + "\n(timed out after %ss)" % timeout)
        return Result(list(argv), proc.returncode, proc.stdout.decode("utf-8", "replace"))
