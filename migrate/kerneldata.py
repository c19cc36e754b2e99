"""Package data behind the kernel, eBPF, Cilium and SM-crypto models, loaded once.

Checks must not touch files (tests/test_check_contracts.py), so every table they
need is read here, lazily, and cached for the life of the process: the first
call reads the file, every later call (and every check run after it) gets the
same parsed object. The tables are byte-identical copies of the team's data
collection; migrate/manifests/data/SOURCES.md gives their provenance.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Dict, Optional

from migrate.errors import BadInput
from migrate.kernelconfig import KernelConfig, load_config_file
from migrate.manifests import DATA_DIR

EBPF_DIR = os.path.join(DATA_DIR, "ebpf")
CRYPTO_DIR = os.path.join(DATA_DIR, "crypto")

# Relative paths used as evidence in findings and reports: where a fact comes from.
BCC_VERSIONS = "ebpf/bcc-kernel-versions.json"
BCC_CONFIG = "ebpf/bcc-kernel-config-requirements.json"
CILIUM = "ebpf/cilium-requirements.json"
RHEL_RELEASE_MAP = "ebpf/rhel-kernel-release-map.json"
SM_MATRIX = "crypto/sm-support-matrix.json"


class Record:
    """A small immutable value: fields in ``__slots__``, defaults in ``_defaults``.

    The kernel/eBPF/SM models define about ten such types and every `migrate` run
    imports them with the checks; a frozen dataclass costs ~0.8 ms to define, a
    plain class ~10 µs. Class annotations document the field types.
    """

    __slots__ = ()
    _defaults: Dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError("%s takes %d fields, got %d" % (type(self).__name__, len(names), len(args)))
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in values:
                raise TypeError("%s: unexpected or repeated field %r" % (type(self).__name__, key))
            values[key] = value
        for name in names:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError("%s: missing field %r" % (type(self).__name__, name))
                values[name] = self._defaults[name]
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("%s is immutable" % type(self).__name__)

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + tuple(repr(getattr(self, n)) for n in self.__slots__))

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__))


@lru_cache(maxsize=None)
def table(relative: str) -> Dict[str, Any]:
    """A JSON table under the manifest data directory (read once, then cached).

    Callers must treat the result as read-only: it is shared.
    """
    path = os.path.join(DATA_DIR, relative)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        # Package data missing or corrupt is an installation problem, said in one line.
        raise BadInput("%s: cannot read bundled data: %s" % (path, exc)) from None


@lru_cache(maxsize=None)
def config_file(path: str, kind: str, caveats: str = "") -> KernelConfig:
    """A target's reference kernel config (see migrate.kernelconfig), read once."""
    try:
        return load_config_file(path, kind, caveats)
    except OSError as exc:
        raise BadInput("%s: cannot read kernel config: %s" % (path, exc.strerror or exc)) from None


def flavour_config(manifest: Any, flavour_id: Optional[str] = None) -> Optional[KernelConfig]:
    """The reference config of a manifest's kernel flavour, or None when it has none."""
    flavour = manifest.kernel_flavour(flavour_id)
    ref = flavour.config
    if ref is None:
        return None
    config = config_file(manifest.data_file(ref.file), ref.kind, " ".join(ref.caveats.split()))
    # The evidence should name the file as the manifest does, not a path on this machine.
    return KernelConfig(config.options, config.kind, ref.file, config.caveats)
