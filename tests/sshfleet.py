"""A real fleet of sshd test hosts on loopback addresses (Debian's /usr/sbin/sshd).

Design (documented choice): every host is its own loopback address 127.0.X.N on one
shared port; one sshd serves up to 16 addresses (`ListenAddress` each); a
`Match LocalAddress` block per address sets a ForceCommand wrapper that decides how
that host behaves:

    normal    runs the requested command with Debian's python3 first on PATH, after
              checking that it names this host's sysroot: the scanner's inventory sets
              `migrate_root=<sysroot>` so the remote command is the collector reading
              `--root <sysroot>`, exactly what a local `migrate assess --root` reads.
              (A private mount namespace was the alternative; --root is equally real and
              needs no mounts.)
    sleep     never answers (sleeps) -> the scanner's per-host timeout
    nopython  runs the command with an empty PATH and no platform-python -> no_python
    garbage   swallows stdin and prints non-JSON -> collector_error
    noauth    `AuthorizedKeysFile none` -> auth_failed

Every sshd is stopped by its PID at teardown, failures included.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

SSHD = "/usr/sbin/sshd"
PER_SSHD = 16

WRAPPER = r"""#!/bin/sh
# ForceCommand of a test host: $1 mode, $2 sysroot (normal), $3 bin dir
mode=$1
case "$mode" in
  normal)
    case "$SSH_ORIGINAL_COMMAND" in
      *"$2"*) ;;
      *) echo "test host: command does not read this host's root $2" >&2; exit 1 ;;
    esac
    PATH="$3:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH
    exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;
  plain)
    # the program each session starts (sftp-server, sudo, /bin/sh), for tests to count
    printf '%s\n' "${SSH_ORIGINAL_COMMAND%% *}" >> "$3/../programs.log"
    PATH="$3:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH
    exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;
  sleep)
    exec sleep 12 ;;
  nopython)
    PATH="$3/empty"; export PATH
    exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;
  garbage)
    cat >/dev/null
    echo 'Traceback (most recent call last): not {json'
    exit 0 ;;
esac
echo "unknown mode $mode" >&2
exit 1
"""


@dataclass
class TestHost:
    __test__ = False  # not a pytest test class
    name: str
    address: str
    mode: str = "normal"
    root: Optional[str] = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshFleet:
    """Start with `start()`, stop with `stop()` (by PID). Paths live under `workdir`."""

    def __init__(self, workdir: Path, port: Optional[int] = None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.hosts: List[TestHost] = []
        self.pids: List[int] = []
        self.procs: List[subprocess.Popen] = []
        self.client_key = self.dir / "id_ed25519"
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.known_hosts = self.dir / "known_hosts"
        self.bin = self.dir / "bin"

    # -- setup ----------------------------------------------------------------------

    def _keys(self) -> None:
        for key in (self.client_key, self.host_key):
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                               check=True, stdin=subprocess.DEVNULL)
        shutil.copy(str(self.client_key) + ".pub", self.dir / "authorized_keys")
        (self.bin / "empty").mkdir(parents=True, exist_ok=True)
        py = self.bin / "python3"
        if not py.exists():
            py.symlink_to("/usr/bin/python3")  # Debian's python3: has the rpm bindings
        wrapper = self.dir / "wrapper.sh"
        wrapper.write_text(WRAPPER)
        wrapper.chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def host_key_line(self, address: str, keyfile: Optional[Path] = None) -> str:
        pub = Path(str(keyfile or self.host_key) + ".pub").read_text().split()
        return "[%s]:%d %s %s\n" % (address, self.port, pub[0], pub[1])

    def _config(self, index: int, group: List[TestHost]) -> Path:
        lines = ["Port %d" % self.port]
        lines += ["ListenAddress %s" % h.address for h in group]
        lines += [
            "HostKey %s" % self.host_key,
            "PidFile %s" % (self.dir / ("sshd-%d.pid" % index)),
            "AuthorizedKeysFile %s" % (self.dir / "authorized_keys"),
            "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "MaxStartups 300:30:600", "MaxSessions 100", "SetEnv SHLVL=1",
            "LogLevel %s" % ("DEBUG1" if group[0].mode == "bastion" else "VERBOSE"),
            "AllowTcpForwarding yes",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
        ]
        wrapper = self.dir / "wrapper.sh"
        for h in group:
            lines.append("Match LocalAddress %s" % h.address)
            if h.mode == "noauth":
                lines.append("    AuthorizedKeysFile none")
                continue
            if h.mode == "bastion":
                continue  # a plain jump host: forwarding only
            argv = [str(wrapper), h.mode, h.root or "-", str(self.bin)]
            lines.append("    ForceCommand %s" % " ".join(shlex.quote(a) for a in argv))
        path = self.dir / ("sshd-%d.conf" % index)
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, hosts: List[TestHost]) -> "SshFleet":
        self._keys()
        self.hosts = list(hosts)
        with open(self.known_hosts, "w") as handle:
            for h in hosts:
                handle.write(self.host_key_line(h.address))
        try:
            plain = [h for h in hosts if h.mode != "bastion"]
            groups = [plain[i:i + PER_SSHD] for i in range(0, len(plain), PER_SSHD)]
            bastions = [h for h in hosts if h.mode == "bastion"]
            if bastions:
                groups.append(bastions)  # its own sshd, logging forwards (LogLevel DEBUG1)
            for index, group in enumerate(groups):
                conf = self._config(index, group)
                log = open(self.dir / ("sshd-%d.log" % index), "ab")
                proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=log, start_new_session=True)
                log.close()
                self.procs.append(proc)
                self.pids.append(proc.pid)
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for h in self.hosts:
            while True:
                try:
                    socket.create_connection((h.address, self.port), timeout=1).close()
                    break
                except OSError:
                    for proc in self.procs:
                        if proc.poll() is not None:
                            raise RuntimeError("sshd exited %s: %s" % (proc.returncode, self.logs()))
                    if time.monotonic() > deadline:
                        raise RuntimeError("sshd not listening on %s:%d" % (h.address, self.port))
                    time.sleep(0.05)

    def programs(self) -> List[str]:
        """The first word of every command a 'plain' host ran (sftp-server for SFTP sessions)."""
        path = self.dir / "programs.log"
        return path.read_text().split() if path.exists() else []

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("sshd-*.log")))

    def stop(self) -> None:
        """Stop every sshd this fleet started, by PID (each leads its own session)."""
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    # -- helpers for tests ------------------------------------------------------------

    def ssh_config(self, extra: str = "") -> Path:
        """An ssh_config giving every test host its key file (IdentityFile)."""
        path = self.dir / "ssh_config"
        path.write_text("Host *\n    IdentityFile %s\n    Port %d\n    User root\n%s"
                        % (self.client_key, self.port, extra))
        return path

    def inventory_ini(self, path: Path, hosts: Optional[List[TestHost]] = None,
                      group_of: Optional[Dict[str, str]] = None) -> Path:
        groups: Dict[str, List[str]] = {}
        for h in hosts or self.hosts:
            line = "%s ansible_host=%s ansible_port=%d ansible_user=root" % (h.name, h.address, self.port)
            if h.root:
                line += " migrate_root=%s" % shlex.quote(h.root)
            groups.setdefault((group_of or {}).get(h.name, "fleet"), []).append(line)
        text = ""
        for group, lines in groups.items():
            text += "[%s]\n%s\n\n" % (group, "\n".join(lines))
        text += "[all:vars]\nansible_ssh_private_key_file=%s\n" % self.client_key
        path.write_text(text)
        return path
