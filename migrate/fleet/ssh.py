"""SSH to one host with paramiko: ssh_config, ProxyJump, host keys, key/agent auth.

Host keys are checked against known_hosts (OpenSSH format) before authenticating: a
changed key is always refused; an unknown key is refused unless accept_new is set,
in which case it is recorded (under a lock, appended to the known_hosts file).
No password or passphrase is ever asked for, logged or stored: encrypted keys are
skipped unless the agent holds them.
"""
from __future__ import annotations

import errno
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import paramiko

from migrate.fleet import states
from migrate.fleet.states import HostFailure

DEFAULT_KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")


@dataclass
class Endpoint:
    """Where and as whom to connect, after ssh_config resolution."""

    address: str
    port: int
    user: str
    key_files: List[str]
    proxy_jump: Optional[str] = None


@dataclass
class SshSettings:
    ssh_config: Optional[str] = None
    known_hosts: Optional[str] = None
    accept_new: bool = False
    connect_timeout: float = 10.0
    keepalive: int = 15
    use_agent: bool = True
    _config: Optional[paramiko.SSHConfig] = field(default=None, repr=False)
    _host_keys: Optional[paramiko.HostKeys] = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _agent_keys: Optional[Tuple] = field(default=None, repr=False)
    _key_cache: Dict[str, object] = field(default_factory=dict, repr=False)

    def config(self) -> paramiko.SSHConfig:
        if self._config is None:
            path = self.ssh_config or os.path.expanduser("~/.ssh/config")
            if self.ssh_config or os.path.exists(path):
                try:
                    self._config = paramiko.SSHConfig.from_path(path)
                except OSError as exc:
                    from migrate.errors import BadInput
                    raise BadInput("--ssh-config %s: %s" % (path, exc.strerror or exc)) from None
            else:
                self._config = paramiko.SSHConfig()
        return self._config

    def known_hosts_path(self) -> str:
        return os.path.expanduser(self.known_hosts or "~/.ssh/known_hosts")

    def host_keys(self) -> paramiko.HostKeys:
        with self._lock:
            if self._host_keys is None:
                keys = paramiko.HostKeys()
                path = self.known_hosts_path()
                if os.path.exists(path):
                    keys.load(path)
                self._host_keys = keys
            return self._host_keys

    def agent_keys(self) -> Tuple:
        with self._lock:
            if self._agent_keys is None:
                keys: Tuple = ()
                if self.use_agent and os.environ.get("SSH_AUTH_SOCK"):
                    try:
                        keys = tuple(paramiko.Agent().get_keys())
                    except paramiko.SSHException:
                        keys = ()
                self._agent_keys = keys
            return self._agent_keys

    def load_key(self, path: str) -> Optional[object]:
        """A private key from a file (cached); None when missing or passphrase-protected."""
        with self._lock:
            if path in self._key_cache:
                return self._key_cache[path]
        key = None
        try:
            key = paramiko.PKey.from_path(path) if hasattr(paramiko.PKey, "from_path") else None
            if key is None:
                for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
                    try:
                        key = cls.from_private_key_file(path)
                        break
                    except paramiko.SSHException:
                        continue
        except (OSError, paramiko.PasswordRequiredException, paramiko.SSHException, ValueError):
            key = None
        with self._lock:
            self._key_cache[path] = key
        return key


def resolve(settings: SshSettings, alias: str, user: Optional[str] = None,
            port: Optional[int] = None, key_file: Optional[str] = None,
            address: Optional[str] = None) -> Endpoint:
    """Inventory values win over ssh_config, which wins over defaults (like ansible + ssh)."""
    conf = settings.config().lookup(address or alias)
    keys = [key_file] if key_file else []
    keys += [k for k in conf.get("identityfile", []) if k not in keys]
    if not keys:
        keys = list(DEFAULT_KEYS)
    default_user = os.environ.get("USER") or "root"
    try:
        conf_port = int(conf.get("port", 22))
    except ValueError:
        conf_port = 22
    jump = conf.get("proxyjump")
    return Endpoint(address=conf.get("hostname", address or alias),
                    port=port or conf_port, user=user or conf.get("user", default_user),
                    key_files=[os.path.expanduser(k) for k in keys],
                    proxy_jump=None if not jump or jump.lower() == "none" else jump)


def _known_name(address: str, port: int) -> str:
    return address if port == 22 else "[%s]:%d" % (address, port)


def _verify_host_key(settings: SshSettings, transport: paramiko.Transport, ep: Endpoint) -> None:
    key = transport.get_remote_server_key()
    name = _known_name(ep.address, ep.port)
    keys = settings.host_keys()
    with settings._lock:
        known = keys.lookup(name)
        if known is not None and key.get_name() in known:
            if known[key.get_name()] == key:
                return
            raise HostFailure(states.HOST_KEY_MISMATCH,
                              "%s host key for %s CHANGED (fingerprint %s): refusing to connect; "
                              "if the change is expected, remove the old key from %s"
                              % (key.get_name(), name, key.fingerprint, settings.known_hosts_path()))
        if known:
            # Known under another key type only: a different key, never trusted silently.
            raise HostFailure(states.HOST_KEY_MISMATCH,
                              "%s offered a %s host key but known_hosts has only %s for it: refusing"
                              % (name, key.get_name(), ", ".join(sorted(known.keys()))))
        if not settings.accept_new:
            raise HostFailure(states.HOST_KEY_UNKNOWN,
                              "%s is not in %s (%s %s); verify it and add it, or pass "
                              "--accept-new-host-keys" % (name, settings.known_hosts_path(),
                                                          key.get_name(), key.fingerprint))
        keys.add(name, key.get_name(), key)
        path = settings.known_hosts_path()
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write("%s %s %s\n" % (name, key.get_name(), key.get_base64()))


def _authenticate(settings: SshSettings, transport: paramiko.Transport, ep: Endpoint) -> None:
    tried = []
    candidates: List[object] = list(settings.agent_keys())
    for path in ep.key_files:
        key = settings.load_key(path)
        if key is not None:
            candidates.append(key)
    for key in candidates:
        try:
            transport.auth_publickey(ep.user, key)
        except paramiko.AuthenticationException:
            tried.append(key.get_name())
            continue
        except paramiko.SSHException as exc:
            raise HostFailure(states.UNREACHABLE, "SSH error during authentication: %s" % exc,
                              transient=True) from None
        if transport.is_authenticated():
            return
    raise HostFailure(states.AUTH_FAILED, "%s@%s: public key authentication failed (%d key(s) "
                      "tried; agent %s)" % (ep.user, _known_name(ep.address, ep.port), len(tried),
                                            "used" if settings.agent_keys() else "not available"))


def _open_socket(settings: SshSettings, ep: Endpoint, opened: List[paramiko.Transport],
                 deadline: float) -> object:
    if ep.proxy_jump:
        hop = ep.proxy_jump.split(",")[-1].strip()
        earlier = ",".join(p.strip() for p in ep.proxy_jump.split(",")[:-1]) or None
        user, _, hostport = hop.rpartition("@")
        host, _, port = hostport.partition(":")
        jump_ep = resolve(settings, host, user=user or None, port=int(port) if port else None)
        jump_ep.proxy_jump = earlier
        jump = connect(settings, jump_ep, opened, deadline)
        try:
            return jump.open_channel("direct-tcpip", (ep.address, ep.port), ("127.0.0.1", 0),
                                     timeout=max(1.0, min(settings.connect_timeout,
                                                          deadline - time.monotonic())))
        except paramiko.ChannelException as exc:
            raise HostFailure(states.UNREACHABLE, "via jump host %s: cannot reach %s:%d: %s"
                              % (hop, ep.address, ep.port, exc)) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise HostFailure(states.UNREACHABLE, "via jump host %s: %s" % (hop, exc),
                              transient=True) from None
    timeout = max(0.5, min(settings.connect_timeout, deadline - time.monotonic()))
    try:
        return socket.create_connection((ep.address, ep.port), timeout=timeout)
    except socket.timeout:
        raise HostFailure(states.UNREACHABLE, "connect to %s:%d timed out after %.0fs"
                          % (ep.address, ep.port, timeout), transient=True) from None
    except socket.gaierror as exc:
        raise HostFailure(states.UNREACHABLE, "cannot resolve %s: %s" % (ep.address, exc)) from None
    except OSError as exc:
        transient = exc.errno in (errno.ECONNRESET, errno.ETIMEDOUT, errno.EHOSTUNREACH)
        raise HostFailure(states.UNREACHABLE, "connect to %s:%d: %s"
                          % (ep.address, ep.port, exc.strerror or exc), transient=transient) from None


def connect(settings: SshSettings, ep: Endpoint, opened: List[paramiko.Transport],
            deadline: float) -> paramiko.Transport:
    """An authenticated transport (appended to `opened`, which the caller closes)."""
    sock = _open_socket(settings, ep, opened, deadline)
    transport = paramiko.Transport(sock)
    opened.append(transport)
    transport.banner_timeout = transport.handshake_timeout = max(
        1.0, min(settings.connect_timeout, deadline - time.monotonic()))
    try:
        transport.start_client(timeout=transport.handshake_timeout)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise HostFailure(states.UNREACHABLE, "SSH handshake with %s failed: %s"
                          % (_known_name(ep.address, ep.port), exc or type(exc).__name__),
                          transient=True) from None
    if settings.keepalive:
        transport.set_keepalive(settings.keepalive)
    _verify_host_key(settings, transport, ep)
    _authenticate(settings, transport, ep)
    return transport


@dataclass
class CommandResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


def run_command(transport: paramiko.Transport, command: str, stdin: bytes, deadline: float,
                max_output: int = 256 * 1024 * 1024) -> CommandResult:
    """Run one command in one session, feeding `stdin`; TIMEOUT past the deadline."""
    try:
        channel = transport.open_session(timeout=max(1.0, deadline - time.monotonic()))
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise HostFailure(states.UNREACHABLE, "cannot open an SSH session: %s" % exc,
                          transient=True) from None
    try:
        channel.settimeout(0.2)
        channel.exec_command(command)
        view = memoryview(stdin)
        while view:
            if time.monotonic() > deadline:
                raise HostFailure(states.TIMEOUT, "timed out sending the collector")
            try:
                sent = channel.send(view[:32768])
            except socket.timeout:
                continue
            if sent <= 0:
                break  # remote closed its stdin (e.g. a command that ignores it)
            view = view[sent:]
        channel.shutdown_write()
        out: List[bytes] = []
        err: List[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise HostFailure(states.TIMEOUT, "no result before the per-host timeout")
            while channel.recv_stderr_ready():
                err.append(channel.recv_stderr(65536))
            try:
                chunk = channel.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            out.append(chunk)
            size += len(chunk)
            if size > max_output:
                raise HostFailure(states.COLLECTOR_ERROR, "collector output exceeds %d bytes"
                                  % max_output)
        while not channel.exit_status_ready():
            if time.monotonic() > deadline:
                raise HostFailure(states.TIMEOUT, "command did not exit before the timeout")
            time.sleep(0.02)
        while channel.recv_stderr_ready():
            err.append(channel.recv_stderr(65536))
        return CommandResult(channel.recv_exit_status(), b"".join(out), b"".join(err))
    except (EOFError, OSError, paramiko.SSHException) as exc:
        if isinstance(exc, socket.timeout):
            raise HostFailure(states.TIMEOUT, "timed out") from None
        raise HostFailure(states.UNREACHABLE, "connection lost: %s" % (exc or type(exc).__name__),
                          transient=True) from None
    finally:
        channel.close()
