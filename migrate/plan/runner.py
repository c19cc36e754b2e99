"""Runners: everything the executor does to the host being migrated goes through one.

A runner runs argv lists (never shell strings) and reads/writes the host's files (the
journal, backups and captured outputs live on the host, under ROOT/var/lib/migrate). The
LocalRunner acts on this machine; the SshRunner (migrate.plan.sshrunner) on a host over SSH.
The executor and the steps never touch a path themselves, so one plan runs through either.
"""
from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from migrate import exitcodes
from migrate.errors import MigrateError

TAIL = 4000  # characters of output kept in the journal


class LockHeld(MigrateError):
    exit_code = exitcodes.LOCKED


class HostLost(MigrateError):
    """The connection to the host broke: nothing more can be done or journaled from here."""
    exit_code = exitcodes.UNREACHABLE


@dataclass
class Result:
    argv: List[str]
    returncode: int
    output: str  # stdout+stderr, interleaved
    duration_s: float = 0.0

    @property
    def tail(self) -> str:
        return self.output[-TAIL:]


# Called with each chunk of a command's output as it arrives; returns True to have the
# runner kill the command and its runner (the test hook that simulates a crash mid-command).
OutputWatch = Callable[[str], bool]


def check_argv(argv: Sequence[str]) -> List[str]:
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
        raise TypeError("a Runner takes an argv list of strings, not %r" % (argv,))
    return list(argv)


class Runner:
    """Runs commands on, and reads/writes files of, the host being migrated."""

    where = "?"

    def run(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
            timeout: Optional[float] = None, watch: Optional[OutputWatch] = None) -> Result:
        raise NotImplementedError

    # files (absolute paths on the host)
    def read_bytes(self, path: str) -> Optional[bytes]:
        """The file's content, None when it does not exist."""
        raise NotImplementedError

    def write_atomic(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Replace `path` (parents created) so a reader sees the old or the whole new file."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def isdir(self, path: str) -> bool:
        raise NotImplementedError

    def listdir(self, path: str) -> List[str]:
        """Sorted entries, [] when the directory does not exist."""
        raise NotImplementedError

    def makedirs(self, path: str) -> None:
        raise NotImplementedError

    def probe(self, path: str) -> Dict[str, int]:
        """{"free_mb": free space on path's filesystem, "euid": the runner's user id}."""
        raise NotImplementedError

    # one migration per root at a time
    def lock(self, path: str) -> Any:
        """Hold an exclusive flock on `path` (LockHeld when another process holds it)."""
        raise NotImplementedError

    def unlock(self, handle: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def read_text(self, path: str) -> Optional[str]:
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", "replace")


class LocalRunner(Runner):
    where = "local"

    def run(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
            timeout: Optional[float] = None, watch: Optional[OutputWatch] = None) -> Result:
        argv = check_argv(argv)
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["LC_ALL"] = "C"
        started = time.monotonic()
        try:
            if watch is not None:
                return _run_watched(argv, full_env, watch, started)
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=full_env, timeout=timeout)
        except FileNotFoundError as exc:
            return Result(argv, 127, str(exc), time.monotonic() - started)
        except subprocess.TimeoutExpired as exc:
            out = exc.output.decode("utf-8", "replace") if exc.output else ""
            return Result(argv, 124, out + "\n(timed out after %ss)" % timeout, time.monotonic() - started)
        return Result(argv, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                      time.monotonic() - started)

    def read_bytes(self, path: str) -> Optional[bytes]:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def write_atomic(self, path: str, data: bytes, mode: int = 0o644) -> None:
        from migrate.atomic import atomic_file

        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_file(path) as handle:
            handle.write(data)
        os.chmod(path, mode)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def listdir(self, path: str) -> List[str]:
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def probe(self, path: str) -> Dict[str, int]:
        st = os.statvfs(path)
        return {"free_mb": st.f_bavail * st.f_frsize // (1024 * 1024), "euid": os.geteuid()}

    def lock(self, path: str) -> Any:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise LockHeld("another migrate run holds %s" % path) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, ("%d\n" % os.getpid()).encode())
        return fd

    def unlock(self, handle: Any) -> None:
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            os.close(handle)


def _run_watched(argv: List[str], env: Dict[str, str], watch: OutputWatch, started: float) -> Result:
    """Run while feeding the output to `watch`; when it says so, SIGKILL the command's
    process group and this process (what a power cut does to both)."""
    import signal

    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    chunks: List[str] = []
    assert proc.stdout is not None
    while True:
        data = os.read(proc.stdout.fileno(), 65536)
        if not data:
            break
        text = data.decode("utf-8", "replace")
        chunks.append(text)
        if watch(text):
            os.killpg(proc.pid, signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
    proc.wait()
    return Result(argv, proc.returncode, "".join(chunks), time.monotonic() - started)
