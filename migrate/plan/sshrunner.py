"""The SSH runner: the executor drives a host over one paramiko connection.

Nothing is installed on the host. Commands go through migrate.plan.hostagent, started as
`python -c <agent source>` by a fixed sh prologue that finds the host's Python; the argv
of each command travels as JSON on the channel's stdin, so no shell ever parses a path,
a package name or anything else that came from the host. Files (journal, backups,
captured outputs) are read and written over SFTP, atomically (write a sibling, then
posix-rename). The lock is an flock held by an agent process for as long as its channel
is open, so a controller that dies or loses the connection releases it.

With `become` (a login user with passwordless sudo, as `fleet scan --become`), the agent is
started under `sudo -n` and does the file operations itself instead of SFTP, which would act
as the login user.

Host keys are verified against known_hosts (migrate.fleet.ssh); an unknown or changed key
refuses the connection unless --accept-new-host-keys (never for a changed key).
"""
from __future__ import annotations

import errno
import json
import os
import shlex
import socket
import stat
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import paramiko

from migrate.errors import MigrateError
from migrate import exitcodes
from migrate.fleet import remote, ssh
from migrate.fleet.states import HostFailure
from migrate.plan import hostagent
from migrate.plan.runner import HostLost, LockHeld, OutputWatch, Result, Runner, check_argv, kill_for_test


class Unreachable(MigrateError):
    exit_code = exitcodes.UNREACHABLE


AGENT_PROLOGUE = remote.interpreter_prologue('-c "$1"')


def agent_command(become: bool = False) -> str:
    """The one command string ever sent: constant (the agent's source is our own code)."""
    source = remote.module_source(hostagent).decode("utf-8")
    argv = ["/bin/sh", "-c", AGENT_PROLOGUE, "migrate-agent", source]
    if become:
        argv = ["sudo", "-n", "--"] + argv
    return " ".join(shlex.quote(a) for a in argv)


class SshRunner(Runner):
    def __init__(self, settings: ssh.SshSettings, endpoint: ssh.Endpoint, connect_timeout: float = 30.0,
                 become: bool = False):
        self.settings = settings
        self.endpoint = endpoint
        self.become = become
        self.where = "%s@%s:%d%s" % (endpoint.user, endpoint.address, endpoint.port, " (sudo)" if become else "")
        self._opened: List[paramiko.Transport] = []
        self._log_dir_made: Optional[str] = None
        self._sftp: Optional[paramiko.SFTPClient] = None
        try:
            self.transport = ssh.connect(settings, endpoint, self._opened,
                                         time.monotonic() + connect_timeout)
        except HostFailure as exc:
            self.close()
            raise Unreachable("%s: %s (%s)" % (self.where, exc.message, exc.state)) from None

    # --- connection --------------------------------------------------------------------
    def close(self) -> None:
        if self._sftp is not None:
            try:
                self._sftp.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._sftp = None
        for transport in reversed(self._opened):
            transport.close()
        self._opened.clear()

    def _lost(self, exc: BaseException) -> HostLost:
        return HostLost("connection to %s lost: %s; the journal on the host keeps the last saved state "
                        "(`migrate status --host ...`)" % (self.where, exc or type(exc).__name__))

    def _channel(self, request: Dict[str, Any], payload: bytes = b"") -> paramiko.Channel:
        try:
            channel = self.transport.open_session(timeout=30)
            channel.exec_command(agent_command(self.become))
            channel.sendall((json.dumps(request) + "\n").encode("utf-8") + payload)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from None
        return channel

    def _check_sudo(self, code: int, err: bytes) -> None:
        text = err.decode("utf-8", "replace")
        if self.become and code != 0 and "sudo:" in text:
            raise Unreachable("%s: sudo -n failed (--become needs passwordless sudo): %s"
                              % (self.where, " ".join(text.split())[:300]))

    def _sftp_client(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = paramiko.SFTPClient.from_transport(self.transport)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise self._lost(exc) from None
            if self._sftp is None:
                raise HostLost("%s: the SFTP subsystem is not available" % self.where)
        return self._sftp

    # --- commands ----------------------------------------------------------------------
    def run(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None,
            timeout: Optional[float] = None, watch: Optional[OutputWatch] = None) -> Result:
        argv = check_argv(argv)
        started = time.monotonic()
        log = self.log_path(argv)
        if log and self._log_dir_made != self.log_dir:
            self.makedirs(os.path.dirname(log))
            self._log_dir_made = self.log_dir
        channel = self._channel({"op": "run", "argv": argv, "env": env or {}, "log": log})
        chunks: List[bytes] = []
        try:
            channel.shutdown_write()
            channel.settimeout(1.0)
            while True:
                if timeout and time.monotonic() - started > timeout:
                    chunks.append(b"\n(timed out after %gs; the command may still run on the host)" % timeout)
                    return Result(argv, 124, b"".join(chunks).decode("utf-8", "replace"),
                                  time.monotonic() - started)
                try:
                    data = channel.recv(65536)
                except socket.timeout:
                    if self.transport.is_active():
                        continue
                    raise EOFError("transport closed")
                if not data:
                    break
                chunks.append(data)
                if watch is not None and watch(data.decode("utf-8", "replace")):
                    kill_for_test(None, False)   # the controller dies; the host's command runs on
            code = channel.recv_exit_status()
            err = b""
            while channel.recv_stderr_ready():   # sudo's own complaints (the agent merges the command's)
                err += channel.recv_stderr(65536)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from None
        finally:
            channel.close()
        if code == -1:  # no exit status: the connection went away under the channel
            raise self._lost(EOFError("no exit status"))
        self._check_sudo(code, err)
        output = b"".join(chunks).decode("utf-8", "replace")
        if code == remote.NO_PYTHON_EXIT and remote.NO_PYTHON_MARK in output:
            raise Unreachable("%s: %s" % (self.where, output.strip().splitlines()[-1]))
        return Result(argv, code, output, time.monotonic() - started, log)

    def probe(self, path: str) -> Dict[str, int]:
        res = self._agent_json({"op": "probe", "path": path})
        try:
            return {"free_mb": int(res["free_mb"]), "euid": int(res["euid"])}
        except (KeyError, TypeError, ValueError):
            raise HostLost("%s: unexpected probe answer %r" % (self.where, res)) from None

    def _agent_call(self, request: Dict[str, Any], payload: bytes = b"",
                    ok: Sequence[int] = (0,)) -> Tuple[int, bytes]:
        """One agent request; (exit code, stdout). HostLost for an exit code not in `ok`."""
        channel = self._channel(request, payload)
        try:
            channel.shutdown_write()
            out: List[bytes] = []
            err: List[bytes] = []
            while True:
                data = channel.recv(65536)
                if not data:
                    break
                out.append(data)
            while channel.recv_stderr_ready():
                err.append(channel.recv_stderr(65536))
            code = channel.recv_exit_status()
            while channel.recv_stderr_ready():
                err.append(channel.recv_stderr(65536))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._lost(exc) from None
        finally:
            channel.close()
        self._check_sudo(code, b"".join(err))
        if code not in ok:
            raise HostLost("%s: %s %s failed (exit %d): %s"
                           % (self.where, request.get("op"), request.get("path", ""), code,
                              b"".join(err).decode("utf-8", "replace").strip()[-300:]))
        return code, b"".join(out)

    def _agent_json(self, request: Dict[str, Any]) -> Any:
        out = self._agent_call(request)[1]
        try:
            return json.loads(out.decode("utf-8"))
        except ValueError:
            raise HostLost("%s: unexpected %s answer %r" % (self.where, request.get("op"), out[:200])) from None

    # --- lock --------------------------------------------------------------------------
    def lock(self, path: str) -> Any:
        self.makedirs(os.path.dirname(path))
        channel = self._channel({"op": "lock", "path": path})
        try:
            answer = b""
            channel.settimeout(30)
            while not answer.endswith(b"\n"):
                data = channel.recv(64)
                if not data:
                    break
                answer += data
        except (paramiko.SSHException, EOFError, OSError) as exc:
            channel.close()
            raise self._lost(exc) from None
        if answer.strip() == b"locked":
            return channel
        channel.close()
        if answer.strip() == b"busy":
            raise LockHeld("another migrate run holds %s on %s" % (path, self.where))
        raise HostLost("%s: cannot take the lock %s: %r" % (self.where, path, answer[:200]))

    def unlock(self, handle: Any) -> None:
        if handle is not None:
            handle.close()   # the agent reads EOF, exits, and the flock goes with it

    # --- files -------------------------------------------------------------------------
    def _on_sftp(self, call: Callable[[paramiko.SFTPClient], Any], missing: Any = None) -> Any:
        """call(sftp); `missing` when the path does not exist; HostLost for anything else."""
        sftp = self._sftp_client()
        try:
            return call(sftp)
        except (paramiko.SSHException, EOFError) as exc:
            raise self._lost(exc) from None
        except IOError as exc:
            if exc.errno == errno.ENOENT:
                return missing
            raise HostLost("%s: %s" % (self.where, exc)) from None

    def read_bytes(self, path: str) -> Optional[bytes]:
        if self.become:
            code, out = self._agent_call({"op": "read", "path": path}, ok=(0, hostagent.MISSING_EXIT))
            return None if code == hostagent.MISSING_EXIT else out

        def read(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as handle:
                handle.prefetch()
                return handle.read()
        return self._on_sftp(read)

    def write_atomic(self, path: str, data: bytes, mode: int = 0o644) -> None:
        if self.become:   # the agent creates the parents, fsyncs and renames
            self._agent_call({"op": "write", "path": path, "size": len(data), "mode": mode}, data)
            return
        self.makedirs(os.path.dirname(path))
        tmp = os.path.join(os.path.dirname(path), ".%s.migrate-%d" % (os.path.basename(path), os.getpid()))

        def write(sftp: paramiko.SFTPClient) -> bool:
            with sftp.open(tmp, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(data)
            sftp.chmod(tmp, mode)
            sftp.posix_rename(tmp, path)
            return True
        if not self._on_sftp(write, missing=False):
            raise HostLost("%s: cannot write %s (its directory vanished)" % (self.where, path))

    def exists(self, path: str) -> bool:
        if self.become:
            return bool(self._agent_json({"op": "stat", "path": path})["exists"])
        return self._on_sftp(lambda sftp: sftp.lstat(path)) is not None

    def isdir(self, path: str) -> bool:
        if self.become:
            return bool(self._agent_json({"op": "stat", "path": path})["isdir"])
        attrs = self._on_sftp(lambda sftp: sftp.stat(path))
        return attrs is not None and stat.S_ISDIR(attrs.st_mode or 0)

    def listdir(self, path: str) -> List[str]:
        if self.become:
            return sorted(self._agent_json({"op": "listdir", "path": path}))
        if not self.isdir(path):
            return []
        return sorted(self._on_sftp(lambda sftp: sftp.listdir(path), missing=[]))

    def makedirs(self, path: str) -> None:
        if self.become:
            self._agent_call({"op": "mkdirs", "path": path})
            return
        if not path or path == "/" or self.isdir(path):
            return
        self.makedirs(os.path.dirname(path.rstrip("/")))
        try:
            self._sftp_client().mkdir(path, 0o755)
        except IOError:
            if not self.isdir(path):
                raise HostLost("%s: cannot create directory %s" % (self.where, path)) from None

    # --- facts for the assessment before apply -----------------------------------------
    def collect_facts(self, root: Optional[str], timeout: float = 300.0) -> Any:
        from migrate.fleet.scan import facts_from_output

        command = remote.remote_command(root if root and root != "/" else None, become=self.become)
        try:
            out = ssh.run_command(self.transport, command, remote.collector_source(),
                                  time.monotonic() + timeout)
            return facts_from_output(out)
        except HostFailure as exc:
            raise Unreachable("%s: collecting facts failed: %s (%s)" % (self.where, exc.message, exc.state)) \
                from None


def connect_runner(host: str, user: Optional[str] = None, port: Optional[int] = None,
                   identity: Optional[str] = None, ssh_config: Optional[str] = None,
                   known_hosts: Optional[str] = None, accept_new: bool = False,
                   connect_timeout: float = 30.0, become: bool = False) -> SshRunner:
    settings = ssh.SshSettings(ssh_config=ssh_config, known_hosts=known_hosts, accept_new=accept_new,
                               connect_timeout=connect_timeout)
    endpoint = ssh.resolve(settings, host, user=user, port=port, key_file=identity)
    return SshRunner(settings, endpoint, connect_timeout, become=become)
