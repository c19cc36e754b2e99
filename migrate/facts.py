"""The facts snapshot: typed, frozen, versioned, JSON round-trippable.

The collector (``migrate.collector``, which must stay stdlib-only and py2.7
compatible) emits plain JSON; this module is the controller's typed view of it.
``Facts.from_dict`` validates every field against the dataclass types and
reports the first problem as ``path: reason`` so a bad facts file is one clear
line, never a traceback.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import typing
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from migrate.collector import FAILED_STATUSES, SCHEMA_VERSION
from migrate.errors import BadInput

PROBE_STATUSES = ("ok", "absent", "denied", "timeout", "error")


@dataclass(frozen=True)
class Probe:
    status: str
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class ReleaseFile:
    content: str
    symlink: Optional[str] = None


@dataclass(frozen=True)
class OsFacts:
    os_release: Optional[typing.Dict[str, str]]
    release_files: typing.Dict[str, ReleaseFile]
    arch: Optional[str]
    hostname: Optional[str]
    machine_id_sha256: Optional[str]


@dataclass(frozen=True)
class KernelFacts:
    release: Optional[str]
    release_source: Optional[str]
    cmdline: Optional[str]
    config_path: Optional[str]
    config: Optional[typing.Dict[str, str]]
    btf: Optional[bool]
    tainted: Optional[int]


@dataclass(frozen=True)
class Package:
    name: str
    epoch: Optional[int]
    version: str
    release: str
    arch: Optional[str]
    vendor: Optional[str]
    packager: Optional[str]
    install_time: Optional[int]
    source_rpm: Optional[str]
    sigkey_id: Optional[str]
    sig_algo: Optional[str]
    module_files: Tuple[str, ...]
    nevra: str

    @property
    def evr(self) -> Tuple[Optional[int], str, str]:
        return (self.epoch, self.version, self.release)


@dataclass(frozen=True)
class RepoExpanded:
    name: Optional[str]
    baseurl: Tuple[str, ...]
    mirrorlist: Optional[str]
    metalink: Optional[str]
    gpgkey: Tuple[str, ...]


@dataclass(frozen=True)
class Repo:
    id: str
    name: Optional[str]
    file: Optional[str]
    baseurl: Tuple[str, ...]
    mirrorlist: Optional[str]
    metalink: Optional[str]
    enabled: bool
    gpgcheck: Optional[bool]
    gpgkey: Tuple[str, ...]
    expanded: RepoExpanded
    options: typing.Dict[str, str]
    duplicate: bool = False


@dataclass(frozen=True)
class SourceFile:
    path: str
    status: str
    message: str = ""


@dataclass(frozen=True)
class RepoFacts:
    main_file: Optional[str]
    main: Optional[typing.Dict[str, str]]
    vars: typing.Dict[str, str]
    var_sources: typing.Dict[str, str]
    repos: Tuple[Repo, ...]
    files: Tuple[SourceFile, ...]


@dataclass(frozen=True)
class LoadedModule:
    name: str
    size: Optional[int]
    refcount: Optional[int]
    used_by: Tuple[str, ...]
    state: Optional[str]
    taint: Optional[str]


@dataclass(frozen=True)
class ModuleFile:
    path: str
    kernel_release: str
    location: str
    module: str
    symlink_target: Optional[str]
    owners: Tuple[str, ...]


@dataclass(frozen=True)
class DkmsBuild:
    kernel_release: str
    arch: str
    modules: Tuple[str, ...]
    installed: bool


@dataclass(frozen=True)
class DkmsModule:
    module: str
    version: str
    source: Optional[str]
    kernels: Tuple[DkmsBuild, ...]


@dataclass(frozen=True)
class KmodFacts:
    loaded: Optional[Tuple[LoadedModule, ...]]
    out_of_tree: Tuple[ModuleFile, ...]
    dkms: Tuple[DkmsModule, ...]


@dataclass(frozen=True)
class CryptoAlg:
    name: str
    driver: Optional[str]
    module: Optional[str]
    type: Optional[str]
    priority: Optional[int]
    selftest: Optional[str] = None
    fips_allowed: Optional[str] = None


@dataclass(frozen=True)
class CryptoFacts:
    proc_crypto: Optional[Tuple[CryptoAlg, ...]]
    openssl_version: Optional[str]
    openssl_version_source: Optional[str]
    openssl_digests: Optional[Tuple[str, ...]]
    openssl_ciphers: Optional[Tuple[str, ...]]
    openssl_public_key: Optional[Tuple[str, ...]]
    policy: Optional[str]
    fips_enabled: Optional[bool]
    fips_cmdline: Optional[bool]


@dataclass(frozen=True)
class Filesystem:
    path: str
    device: int
    total_bytes: int
    free_bytes: int
    avail_bytes: int
    measured_on: str


@dataclass(frozen=True)
class SystemFacts:
    filesystems: Tuple[Filesystem, ...]
    uefi: Optional[bool]
    secure_boot: Optional[bool]
    selinux_current: Optional[str]
    selinux_configured: Optional[str]
    memory_total_kb: Optional[int]
    memory_available_kb: Optional[int]
    cpu_flags: Optional[Tuple[str, ...]]
    cpu_model: Optional[str]
    cpu_count: Optional[int]


@dataclass(frozen=True)
class CollectorInfo:
    version: str
    python: str
    rpm_backend: Optional[str]
    duration_s: Optional[float]


@dataclass(frozen=True)
class Facts:
    schema_version: int
    collector: CollectorInfo
    collected_at: str
    root: Optional[str]
    probes: typing.Dict[str, Probe]
    os: OsFacts
    kernel: KernelFacts
    packages: Optional[Tuple[Package, ...]]
    repos: RepoFacts
    kmods: KmodFacts
    crypto: CryptoFacts
    system: SystemFacts

    # -- probes ------------------------------------------------------------
    def probe(self, name: str) -> Probe:
        """A probe's status; a probe the collector never recorded counts as an error."""
        return self.probes.get(name) or Probe("error", "probe %s was not recorded" % name)

    def failed_probes(self) -> typing.Dict[str, Probe]:
        return {name: p for name, p in sorted(self.probes.items()) if p.failed}

    @property
    def complete(self) -> bool:
        return not self.failed_probes()

    # -- (de)serialisation ----------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> "Facts":
        if not isinstance(data, dict):
            raise BadInput("facts: expected a JSON object, got %s" % type(data).__name__)
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BadInput("facts: schema_version %r is not supported (this migrate reads %d)"
                           % (version, SCHEMA_VERSION))
        return _convert(cls, data, "facts")

    def to_dict(self) -> dict:
        return _plain(self)

    def to_json(self, indent: Optional[int] = None) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)


def load_facts(path: str) -> Facts:
    """Read a facts file; every problem becomes one BadInput line naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise BadInput("%s: cannot read facts file: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError as exc:
        raise BadInput("%s: not UTF-8 text (%s)" % (path, exc.reason)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput("%s: malformed JSON at line %d column %d: %s"
                       % (path, exc.lineno, exc.colno, exc.msg)) from None
    try:
        return Facts.from_dict(data)
    except BadInput as exc:
        raise BadInput("%s: %s" % (path, exc)) from None


# -- generic conversion between plain JSON and the dataclasses above ----------------

_HINTS: typing.Dict[type, typing.Dict[str, Any]] = {}


def _hints(cls: type) -> typing.Dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(sys.modules[__name__]))
    return _HINTS[cls]


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise BadInput("%s: expected an object, got %s" % (path, _kind(value)))
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name not in value:
                if f.default is not dataclasses.MISSING:
                    continue
                raise BadInput("%s.%s: missing" % (path, f.name))
            kwargs[f.name] = _convert(_hints(tp)[f.name], value[f.name], "%s.%s" % (path, f.name))
        return tp(**kwargs)
    if origin in (tuple, typing.Tuple):
        if not isinstance(value, list):
            raise BadInput("%s: expected a list, got %s" % (path, _kind(value)))
        return tuple(_convert(args[0], v, "%s[%d]" % (path, i)) for i, v in enumerate(value))
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict):
            raise BadInput("%s: expected an object, got %s" % (path, _kind(value)))
        return {str(k): _convert(args[1], v, "%s.%s" % (path, k)) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadInput("%s: expected a number, got %s" % (path, _kind(value)))
        return float(value)
    if tp in (str, int, bool):
        if type(value) is not tp:
            raise BadInput("%s: expected %s, got %s" % (path, tp.__name__, _kind(value)))
        if tp is str and path.endswith(".status") and value not in PROBE_STATUSES:
            raise BadInput("%s: unknown probe status %r" % (path, value))
        return value
    if tp is Any:
        return value
    raise TypeError("unsupported type %r at %s" % (tp, path))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "an integer", float: "a number"}.get(type(value), "?")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value

