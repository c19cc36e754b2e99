"""The state each host ends a scan in, and the per-host result record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

OK = "ok"
UNREACHABLE = "unreachable"
AUTH_FAILED = "auth_failed"
HOST_KEY_MISMATCH = "host_key_mismatch"
HOST_KEY_UNKNOWN = "host_key_unknown"  # not in known_hosts and --accept-new-host-keys not given
TIMEOUT = "timeout"
NO_PYTHON = "no_python"
COLLECTOR_ERROR = "collector_error"
INTERRUPTED = "interrupted"  # Ctrl-C before this host finished

STATES = (OK, UNREACHABLE, AUTH_FAILED, HOST_KEY_MISMATCH, HOST_KEY_UNKNOWN, TIMEOUT, NO_PYTHON,
          COLLECTOR_ERROR, INTERRUPTED)


class HostFailure(Exception):
    """A host ended in a non-ok state; `state` is one of STATES."""

    def __init__(self, state: str, message: str, transient: bool = False):
        super().__init__(message)
        self.state = state
        self.message = message
        self.transient = transient


@dataclass
class HostResult:
    name: str
    state: str
    message: str = ""
    address: str = ""
    verdict: Optional[str] = None
    complete: Optional[bool] = None
    blockers: int = 0
    warnings: int = 0
    cached: bool = False
    duration_s: float = 0.0
    files: Dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "address": self.address, "state": self.state,
                "message": self.message, "verdict": self.verdict, "complete": self.complete,
                "blockers": self.blockers, "warnings": self.warnings, "cached": self.cached,
                "duration_s": round(self.duration_s, 3), "files": dict(self.files)}
