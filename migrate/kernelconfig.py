"""Kernel configurations with their confidence: what an option's absence means.

A full `.config` (what /boot/config-* and /proc/config.gz hold) lists every
visible symbol, so an option that is not there does not exist in that kernel:
"no". The reference configs we have for some targets are not like that:

- ``savedefconfig``: options equal to their Kconfig default are omitted, so
  absent != disabled ("unknown");
- ``srpm_merged``: RHEL-style SOURCES/kernel-*.config files are merged option
  lists before olddefconfig: hidden/select-only symbols (CONFIG_BPF, ...) are
  missing and other architectures' options may appear;
- ``excerpt``: only some lines of the real file.

For those, an absent option is ``unknown``, never a guessed "no".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from migrate.collector import parse_kernel_config

KINDS = ("full", "srpm_merged", "savedefconfig", "excerpt")
# Option states: y (built in), m (module), n (not set or absent from a full config),
# a string value for non-tristate options, or "unknown".
UNKNOWN = "unknown"


@dataclass(frozen=True)
class KernelConfig:
    options: Dict[str, str]
    kind: str
    source: str  # where it came from: a path on the host, or a manifest data file
    caveats: str = ""

    @property
    def complete(self) -> bool:
        return self.kind == "full"

    def state(self, option: str) -> str:
        """y | m | n | a value | unknown (see the module docstring)."""
        if not option.startswith("CONFIG_"):
            option = "CONFIG_" + option
        value = self.options.get(option)
        if value is not None:
            return value
        return "n" if self.complete else UNKNOWN

    def enabled(self, option: str) -> str:
        """yes | no | unknown: whether an option is built in or a module."""
        state = self.state(option)
        if state == UNKNOWN:
            return UNKNOWN
        return "yes" if state in ("y", "m") else "no"


def load_config_file(path: str, kind: str, caveats: str = "") -> KernelConfig:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return KernelConfig(parse_kernel_config(handle.read()), kind, path, caveats)
