"""The facts snapshot: typed, frozen, versioned, JSON round-trippable.

The collector (``migrate.collector``, which must stay stdlib-only and py2.7
compatible) emits plain JSON; this module is the controller's typed view of it.
``Facts.from_dict`` validates every field against the dataclass types and
reports the first problem as ``path: reason`` so a bad facts file is one clear
line, never a traceback.
"""
import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from migrate.collector import FAILED_STATUSES, SCHEMA_VERSION
from migrate.errors import BadInput

PROBE_STATUSES = ("ok", "absent", "denied", "timeout", "error")


class _Record:
    """Shared repr for the facts dataclasses: generating one per class (dataclass's
    repr=True) costs start-up time on every `migrate` run for no gain."""

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (f.name, getattr(self, f.name)) for f in dataclasses.fields(self)))


@dataclass(frozen=True, repr=False)
class Probe(_Record):
    status: str
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in PROBE_STATUSES:
            raise _Invalid("unknown probe status %r" % self.status)

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True, repr=False)
class ReleaseFile(_Record):
    content: str
    symlink: Optional[str] = None


@dataclass(frozen=True, repr=False)
class OsFacts(_Record):
    os_release: Optional[typing.Dict[str, str]]
    release_files: typing.Dict[str, ReleaseFile]
    arch: Optional[str]
    hostname: Optional[str]
    machine_id_sha256: Optional[str]


@dataclass(frozen=True, repr=False)
class KernelFacts(_Record):
    release: Optional[str]
    release_source: Optional[str]
    cmdline: Optional[str]
    config_path: Optional[str]
    config: Optional[typing.Dict[str, str]]
    btf: Optional[bool]
    tainted: Optional[int]


@dataclass(frozen=True, repr=False)
class Package(_Record):
    name: str
    epoch: Optional[int]
    version: str
    release: str
    arch: Optional[str]
    vendor: Optional[str]
    packager: Optional[str]
    install_time: Optional[int]
    source_rpm: Optional[str]
    size: Optional[int]  # installed size in bytes
    sigkey_id: Optional[str]
    sig_algo: Optional[str]
    module_files: Tuple[str, ...]
    nevra: str

    @property
    def evr(self) -> Tuple[Optional[int], str, str]:
        return (self.epoch, self.version, self.release)


@dataclass(frozen=True, repr=False)
class RepoExpanded(_Record):
    name: Optional[str]
    baseurl: Tuple[str, ...]
    mirrorlist: Optional[str]
    metalink: Optional[str]
    gpgkey: Tuple[str, ...]


@dataclass(frozen=True, repr=False)
class Repo(_Record):
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


@dataclass(frozen=True, repr=False)
class SourceFile(_Record):
    path: str
    status: str
    message: str = ""


@dataclass(frozen=True, repr=False)
class RepoFacts(_Record):
    main_file: Optional[str]
    main: Optional[typing.Dict[str, str]]
    vars: typing.Dict[str, str]
    var_sources: typing.Dict[str, str]
    repos: Tuple[Repo, ...]
    files: Tuple[SourceFile, ...]


@dataclass(frozen=True, repr=False)
class LoadedModule(_Record):
    name: str
    size: Optional[int]
    refcount: Optional[int]
    used_by: Tuple[str, ...]
    state: Optional[str]
    taint: Optional[str]


@dataclass(frozen=True, repr=False)
class ModuleFile(_Record):
    path: str
    kernel_release: str
    location: str
    module: str
    symlink_target: Optional[str]
    owners: Tuple[str, ...]


@dataclass(frozen=True, repr=False)
class DkmsBuild(_Record):
    kernel_release: str
    arch: str
    modules: Tuple[str, ...]
    installed: bool


@dataclass(frozen=True, repr=False)
class DkmsModule(_Record):
    module: str
    version: str
    source: Optional[str]
    kernels: Tuple[DkmsBuild, ...]


@dataclass(frozen=True, repr=False)
class KmodFacts(_Record):
    loaded: Optional[Tuple[LoadedModule, ...]]
    out_of_tree: Tuple[ModuleFile, ...]
    dkms: Tuple[DkmsModule, ...]


@dataclass(frozen=True, repr=False)
class CryptoAlg(_Record):
    name: str
    driver: Optional[str]
    module: Optional[str]
    type: Optional[str]
    priority: Optional[int]
    selftest: Optional[str] = None
    fips_allowed: Optional[str] = None


@dataclass(frozen=True, repr=False)
class CryptoFacts(_Record):
    proc_crypto: Optional[Tuple[CryptoAlg, ...]]
    openssl_version: Optional[str]
    openssl_version_source: Optional[str]
    openssl_digests: Optional[Tuple[str, ...]]
    openssl_ciphers: Optional[Tuple[str, ...]]
    openssl_public_key: Optional[Tuple[str, ...]]
    policy: Optional[str]
    fips_enabled: Optional[bool]
    fips_cmdline: Optional[bool]


@dataclass(frozen=True, repr=False)
class Filesystem(_Record):
    path: str
    device: int
    total_bytes: int
    free_bytes: int
    avail_bytes: int
    measured_on: str


@dataclass(frozen=True, repr=False)
class SystemFacts(_Record):
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


@dataclass(frozen=True, repr=False)
class PkgLock(_Record):
    path: str
    pid: Optional[int]
    alive: Optional[bool]  # None: not known (offline root)


@dataclass(frozen=True, repr=False)
class PkgMgrFacts(_Record):
    origins: Optional[typing.Dict[str, str]]  # NEVRA -> repo id it was installed from
    origins_source: Optional[str]
    locks: Tuple[PkgLock, ...]
    rpmdb_path: Optional[str]
    rpmdb_files: Optional[Tuple[str, ...]]
    euid: Optional[int]


@dataclass(frozen=True, repr=False)
class ImageRef(_Record):
    ref: str
    source: str


@dataclass(frozen=True, repr=False)
class K8sFile(_Record):
    path: str
    images: Tuple[str, ...]
    types: Tuple[str, ...]  # CNI plugin "type" values


@dataclass(frozen=True, repr=False)
class ConfigLine(_Record):
    path: str
    line: int
    text: str


@dataclass(frozen=True, repr=False)
class SmCertificate(_Record):
    path: str
    oids: Tuple[str, ...]


@dataclass(frozen=True, repr=False)
class WorkloadFacts(_Record):
    container_images: Optional[Tuple[ImageRef, ...]]
    k8s_manifests: Tuple[K8sFile, ...]
    cni_configs: Tuple[K8sFile, ...]
    bpf_pinned: Optional[Tuple[str, ...]]
    kubelet_config: Optional[str]
    kubelet_cgroup_driver: Optional[str]
    cgroup_v2: Optional[bool]
    openssl_sm_lines: Tuple[ConfigLine, ...]
    sm2_certificates: Tuple[SmCertificate, ...]


@dataclass(frozen=True, repr=False)
class CollectorInfo(_Record):
    version: str
    python: str
    rpm_backend: Optional[str]
    duration_s: Optional[float]


@dataclass(frozen=True, repr=False)
class Facts(_Record):
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
    pkgmgr: PkgMgrFacts
    workloads: WorkloadFacts

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


# -- conversion between plain JSON and the dataclasses above ----------------------
# Converters are compiled once per type into closures: a 1,500-package facts file
# is validated field by field on every load, so this path must be cheap. On the
# happy path no key path is built; a failure collects it on the way back up.

class _Invalid(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.where: List[str] = []


_CONVERTERS: Dict[Any, Callable[[Any], Any]] = {}


def _converter(tp: Any) -> Callable[[Any], Any]:
    conv = _CONVERTERS.get(tp)
    if conv is None:
        conv = _CONVERTERS[tp] = _build_converter(tp)
    return conv


def _build_converter(tp: Any) -> Callable[[Any], Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:  # Optional[X]
        inner = _converter([a for a in args if a is not type(None)][0])
        return lambda v: None if v is None else inner(v)
    if dataclasses.is_dataclass(tp):
        # Annotations here are real objects (no `from __future__ import annotations`),
        # so field.type needs no evaluation.
        fields = [(f.name, _converter(f.type), f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING)
                  for f in dataclasses.fields(tp)]

        def convert_dataclass(v: Any) -> Any:
            if type(v) is not dict:
                raise _Invalid("expected an object, got %s" % _kind(v))
            kwargs = {}
            for name, conv, required in fields:
                if name in v:
                    try:
                        kwargs[name] = conv(v[name])
                    except _Invalid as exc:
                        exc.where.append("." + name)
                        raise
                elif required:
                    exc = _Invalid("missing")
                    exc.where.append("." + name)
                    raise exc
            return tp(**kwargs)
        return convert_dataclass
    if origin is tuple:
        inner = _converter(args[0])

        def convert_tuple(v: Any) -> Any:
            if type(v) is not list:
                raise _Invalid("expected a list, got %s" % _kind(v))
            out = []
            for i, item in enumerate(v):
                try:
                    out.append(inner(item))
                except _Invalid as exc:
                    exc.where.append("[%d]" % i)
                    raise
            return tuple(out)
        return convert_tuple
    if origin is dict:
        inner = _converter(args[1])

        def convert_dict(v: Any) -> Any:
            if type(v) is not dict:
                raise _Invalid("expected an object, got %s" % _kind(v))
            out = {}
            for key, item in v.items():
                try:
                    out[key] = inner(item)
                except _Invalid as exc:
                    exc.where.append("." + str(key))
                    raise
            return out
        return convert_dict
    if tp is float:
        def convert_float(v: Any) -> Any:
            if type(v) not in (int, float):
                raise _Invalid("expected a number, got %s" % _kind(v))
            return float(v)
        return convert_float
    if tp in (str, int, bool):
        def convert_scalar(v: Any) -> Any:
            if type(v) is not tp:
                raise _Invalid("expected %s, got %s" % (tp.__name__, _kind(v)))
            return v
        return convert_scalar
    raise TypeError("unsupported type %r" % (tp,))


def _convert(tp: Any, value: Any, path: str) -> Any:
    try:
        return _converter(tp)(value)
    except _Invalid as exc:
        raise BadInput("%s%s: %s" % (path, "".join(reversed(exc.where)), exc.reason)) from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "an integer", float: "a number"}.get(type(value), "?")


_FIELD_NAMES: Dict[type, Tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    cls = type(value)
    if cls in (str, int, float, bool) or value is None:
        return value
    if cls is tuple or cls is list:
        return [_plain(v) for v in value]
    if cls is dict:
        return {k: _plain(v) for k, v in value.items()}
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(value))
    return {name: _plain(getattr(value, name)) for name in names}
