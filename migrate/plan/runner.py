"""Runners: everything the executor does to the host being migrated goes through one.

A runner runs argv lists (never shell strings) and reads/writes the host's files (the
journal, backups and captured outputs live on the host, under ROOT/var/lib/migrate). The
LocalRunner acts on this machine; the SshRunner (migrate.plan.sshrunner) on a host over SSH.
The executor and the steps never touch a path themselves, so one plan runs through either.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

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
    log: Optional[str] = None  # the file on the host with the whole output (Runner.log_dir)

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
    """Runs commands on, and reads/writes files of, the host being migrated.

    With `log_dir` set (the executor sets RUN_DIR/output), each command's complete output is
    kept on the host in its own file, and the command runs detached from the runner: in its
    own session, writing to that file rather than to a pipe, so a runner that dies (SIGHUP
    from a dropped terminal, an SSH connection lost, SIGKILL) does not take a dnf
    transaction down with it half-way.
    """

    where = "?"
    log_dir: Optional[str] = None
    _seq = 0

    def log_path(self, argv: Sequence[str]) -> Optional[str]:
        if not self.log_dir:
            return None
        self._seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(argv[0]))[:40]
        return os.path.join(self.log_dir, "%s-%d-%03d-%s.log" % (stamp, os.getpid(), self._seq, name))

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

    @contextlib.contextmanager
    def local_file(self, path: str) -> Iterator[Optional[str]]:
        """A path on this machine with the host file's content (None when it does not exist):
        the file itself for a local host, a temporary copy of a remote one."""
        data = self.read_bytes(path)
        if data is None:
            yield None
            return
        with tempfile.NamedTemporaryFile(suffix=os.path.basename(path)) as copy:
            copy.write(data)
            copy.flush()
            yield copy.name


class LocalRunner(Runner):
    where = "local"

    def run(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
            timeout: Optional[float] = None, watch: Optional[OutputWatch] = None) -> Result:
        argv = check_argv(argv)
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["LC_ALL"] = "C"
        started = time.monotonic()
        log = self.log_path(argv)
        if log:
            os.makedirs(os.path.dirname(log), exist_ok=True)
        if watch is not None and getattr(watch, "whole_group", True):
            return _run_piped_for_test(argv, full_env, watch, started, log)
        with (open(log, "w+b") if log else tempfile.TemporaryFile()) as out:
            try:
                proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=full_env, start_new_session=True)
            except OSError as exc:
                return Result(argv, 127, "cannot run %s: %s" % (argv[0], exc.strerror or exc),
                              time.monotonic() - started)
            code = _wait(proc, out, timeout, watch)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        if code is None:
            return Result(argv, 124, text + "\n(timed out after %ss)" % timeout, time.monotonic() - started, log)
        return Result(argv, code, text, time.monotonic() - started, log)

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

    @contextlib.contextmanager
    def local_file(self, path: str) -> Iterator[Optional[str]]:
        yield path if os.path.exists(path) else None

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


def _wait(proc: "subprocess.Popen[bytes]", out: Any, timeout: Optional[float],
          watch: Optional[OutputWatch]) -> Optional[int]:
    """The exit code (None after a timeout, the command's process group killed). With a
    `watch` (test hook), the output file is followed as it grows and fed to it."""
    if watch is None:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _killpg(proc)
            return None
    deadline = time.monotonic() + timeout if timeout else None
    offset = 0
    while True:
        code = proc.poll()
        out.seek(offset)
        chunk = out.read()
        offset += len(chunk)
        if chunk and watch(chunk.decode("utf-8", "replace")):
            kill_for_test(proc, False)
        if code is not None:
            return code
        if deadline and time.monotonic() > deadline:
            _killpg(proc)
            return None
        time.sleep(0.01)


def _run_piped_for_test(argv: List[str], env: Dict[str, str], watch: OutputWatch, started: float,
                        log: Optional[str]) -> Result:
    """The power-cut hook: read the output from a pipe (no polling lag, so the kill lands
    inside a transaction of milliseconds) and SIGKILL command and runner together."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    chunks: List[bytes] = []
    assert proc.stdout is not None
    with (open(log, "wb") if log else tempfile.TemporaryFile()) as copy:
        while True:
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            chunks.append(data)
            copy.write(data)
            copy.flush()
            if watch(data.decode("utf-8", "replace")):
                kill_for_test(proc, True)
    proc.wait()
    return Result(argv, proc.returncode, b"".join(chunks).decode("utf-8", "replace"),
                  time.monotonic() - started, log)


def _killpg(proc: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def kill_for_test(proc: Optional["subprocess.Popen[bytes]"], whole_group: bool) -> None:
    """The fault-injection hooks: SIGKILL this process, and with `whole_group` the running
    command's process group first (a power cut); without it the command runs on (a dropped
    terminal or SSH connection takes only the runner)."""
    if proc is not None and whole_group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.kill(os.getpid(), signal.SIGKILL)
