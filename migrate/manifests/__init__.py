"""Target manifests: what a target distribution is, shipped as YAML package data.

This module loads and validates the identity and migration-path part of a
manifest; errors name the file, the key path and the reason. (The full manifest
schema, with repos, kernel, crypto and package mappings, extends this.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from migrate.errors import BadInput

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


@dataclass(frozen=True)
class SourceRef:
    distro: str
    variant: str
    major: int


@dataclass(frozen=True)
class MigrationPath:
    source: SourceRef
    kind: str
    way_forward: str
    evidence: str


@dataclass(frozen=True)
class RepoDefinition:
    id: str
    name: Optional[str]
    baseurl: str
    gpgkey: Tuple[str, ...]
    enabled: Optional[bool]  # None: not known
    gpgcheck: Optional[bool] = None


@dataclass(frozen=True)
class KernelConfigRef:
    file: str  # relative to the manifest data directory
    arch: str
    kind: str  # full | srpm_merged | savedefconfig | excerpt
    caveats: str
    evidence: str


@dataclass(frozen=True)
class KernelFlavour:
    id: str
    name: str
    version: Optional[str]
    release_example: Optional[str]
    package: Optional[str]  # None: not confirmed
    config: Optional[KernelConfigRef]
    evidence: str


@dataclass(frozen=True)
class Manifest:
    id: str
    name: str
    version: str
    family: str
    el_major: Optional[int]
    architectures: Tuple[str, ...]
    os_release: Dict[str, Any]
    migration_paths: Tuple[MigrationPath, ...]
    repos: Tuple[RepoDefinition, ...]
    kernel_flavours: Tuple[KernelFlavour, ...]
    default_flavour: str
    # Groups with their evidence, as plain mappings (read-only by convention):
    release_swap: Dict[str, Any]
    gpg_keys: Tuple[Dict[str, Any], ...]
    crypto: Dict[str, Dict[str, Any]]
    package_mappings: Dict[str, Any]
    removed_drivers: Optional[Dict[str, Any]]
    path: str
    raw: Dict[str, Any]
    # The target's real package metadata (a repodata snapshot) when the user gave
    # --target-repo; None means package availability cannot be assessed.
    packages: Optional[Any] = None
    packages_source: Optional[str] = None
    # What the host's workloads need of the target, declared by the user (--needs,
    # --needs-file); checks add what they detect from the facts themselves.
    declared_needs: Tuple[Any, ...] = ()

    def path_from(self, distro: str, variant: str, major: int) -> Optional[MigrationPath]:
        for candidate in self.migration_paths:
            src = candidate.source
            if (src.distro, src.variant, src.major) == (distro, variant, major):
                return candidate
        return None

    def kernel_flavour(self, flavour_id: Optional[str] = None) -> KernelFlavour:
        wanted = flavour_id or self.default_flavour
        for flavour in self.kernel_flavours:
            if flavour.id == wanted:
                return flavour
        raise BadInput("target %s has no kernel flavour %r (known: %s)" % (
            self.id, wanted, ", ".join(f.id for f in self.kernel_flavours)))

    @property
    def driver_deprecations(self) -> Tuple[Any, ...]:
        """The Leapp device-driver deprecation entries this manifest references (package
        data, read once and cached), or () when removed_drivers is null."""
        if not self.removed_drivers:
            return ()
        from migrate.manifests.leappdata import cached_driver_data
        return cached_driver_data(self.data_file(self.removed_drivers["dataset"]))

    @property
    def pes_events(self) -> Tuple[Any, ...]:
        """The Leapp PES events this manifest references (package data, read once and
        cached), or () when package_mappings.pes is null."""
        pes = self.package_mappings.get("pes")
        if not pes:
            return ()
        from migrate.manifests.leappdata import cached_pes_events
        return cached_pes_events(self.data_file(pes["dataset"]))

    def data_file(self, relative: str) -> str:
        """A data file a manifest refers to (kernel config, PES events, driver data)."""
        return os.path.join(os.path.dirname(self.path), relative)


def available_targets() -> List[str]:
    return sorted(name[:-5] for name in os.listdir(DATA_DIR) if name.endswith(".yaml"))


def load_manifest(target: str) -> Manifest:
    targets = available_targets()
    if target not in targets:
        raise BadInput("unknown target %r (known targets: %s)" % (target, ", ".join(targets)))
    return load_manifest_file(os.path.join(DATA_DIR, target + ".yaml"))


def compiled_twin(path: str) -> str:
    return path[:-5] + ".json" if path.endswith(".yaml") else path + ".json"


def _load_compiled(path: str) -> Optional[Dict[str, Any]]:
    """The JSON twin of a YAML manifest, if it was compiled from exactly this YAML.

    YAML is the source people edit; the twin (written by compile_manifest) only
    spares every `migrate assess` the cost of importing and running a YAML parser.
    A twin whose recorded hash differs from the YAML is ignored, never trusted.
    """
    import hashlib
    import json

    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        with open(compiled_twin(path), encoding="utf-8") as handle:
            twin = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(twin, dict) or twin.get("source_sha256") != digest:
        return None
    return twin.get("manifest")


def compile_manifest(path: str) -> str:
    """Write the JSON twin of a YAML manifest; return its path."""
    import hashlib
    import json

    manifest = load_manifest_file(path, use_compiled=False)
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    out = compiled_twin(path)
    from migrate.atomic import write_atomic
    write_atomic(out, json.dumps({"source": os.path.basename(path), "source_sha256": digest,
                                  "manifest": manifest.raw}, sort_keys=True, indent=1) + "\n")
    return out


def load_manifest_file(path: str, use_compiled: bool = True) -> Manifest:
    if use_compiled:
        data = _load_compiled(path)
        if data is not None:  # validated when it was compiled, and still the same YAML
            return _build(data, path)
    data = read_yaml(path)
    errors = schema_errors(data, path)
    if errors:
        more = " (and %d more: run `migrate manifest validate`)" % (len(errors) - 1) if len(errors) > 1 else ""
        raise BadInput(errors[0] + more)
    return _build(data, path)


SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema.json")


def _key_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def schema_errors(data: Any, path: str) -> List[str]:
    """Every problem with a manifest, one line each: `file: key.path: reason`.

    The JSON Schema covers shapes; the rest covers what a schema cannot say
    (references to data files that must exist, a default flavour that must be
    defined, one path per source).
    """
    import json

    import jsonschema

    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        message = error.message
        if error.validator == "oneOf":  # the null-or-object alternatives: say what the object lacks
            inner = [e for e in error.context if e.validator != "type"]
            if inner:
                message = inner[0].message
                error = inner[0]
                parts = list(error.absolute_path)
                errors.append("%s: %s: %s" % (path, _key_path(parts), message))
                continue
        errors.append("%s: %s: %s" % (path, _key_path(error.absolute_path), message))
    if errors or not isinstance(data, dict):
        return errors
    base = os.path.dirname(path)
    if os.path.dirname(os.path.abspath(path)) == DATA_DIR and \
            os.path.basename(path) != data["id"] + ".yaml":
        errors.append("%s: id: %r does not match the file name" % (path, data["id"]))
    flavours = [f["id"] for f in data["kernel"]["flavours"]]
    if data["kernel"]["default_flavour"] not in flavours:
        errors.append("%s: kernel.default_flavour: %r is not one of the flavours %s"
                      % (path, data["kernel"]["default_flavour"], flavours))
    for index, flavour in enumerate(data["kernel"]["flavours"]):
        config = flavour.get("config")
        if config and not os.path.isfile(os.path.join(base, config["file"])):
            errors.append("%s: kernel.flavours[%d].config.file: %s does not exist next to the manifest"
                          % (path, index, config["file"]))
    references = [("package_mappings.pes.dataset", (data["package_mappings"].get("pes") or {}).get("dataset")),
                  ("removed_drivers.dataset", (data.get("removed_drivers") or {}).get("dataset"))]
    for where, relative in references:
        if relative and not os.path.isfile(os.path.join(base, relative)):
            errors.append("%s: %s: %s does not exist next to the manifest" % (path, where, relative))
    seen = set()
    for index, item in enumerate(data["migration_paths"]):
        key = (item["from"]["distro"], item["from"]["variant"], item["from"]["major"])
        if key in seen:
            errors.append("%s: migration_paths[%d].from: a second path from %s-%s %d" % ((path, index) + key))
        seen.add(key)
    return errors


def _build(data: Dict[str, Any], path: str) -> Manifest:
    """Typed view of a manifest that already passed schema_errors()."""
    paths = tuple(MigrationPath(SourceRef(p["from"]["distro"], p["from"]["variant"], p["from"]["major"]),
                                p["kind"], p["way_forward"].strip(), p["evidence"])
                  for p in data["migration_paths"])
    repos = tuple(RepoDefinition(r["id"], r.get("name"), r["baseurl"], tuple(r["gpgkey"]), r["enabled"],
                                 r.get("gpgcheck"))
                  for r in data["repos"]["definitions"])
    flavours = tuple(KernelFlavour(
        f["id"], f["name"], f.get("version"), f.get("release_example"), f["package"],
        KernelConfigRef(**f["config"]) if f.get("config") else None, f["evidence"])
        for f in data["kernel"]["flavours"])
    return Manifest(
        id=data["id"], name=data["name"], version=str(data["version"]), family=data["family"],
        el_major=data["el_major"], architectures=tuple(data["architectures"]),
        os_release=data["os_release"], migration_paths=paths, repos=repos,
        kernel_flavours=flavours, default_flavour=data["kernel"]["default_flavour"],
        release_swap=data["release_swap"], gpg_keys=tuple(data["gpg_keys"]),
        crypto=data["crypto"], package_mappings=data["package_mappings"],
        removed_drivers=data["removed_drivers"], path=path, raw=data)


def read_yaml(path: str) -> Any:
    from migrate.yamlfile import read_yaml as read

    return read(path, "manifest")


def validate_file(path: str) -> List[str]:
    """All problems of a manifest file (empty when it is valid)."""
    try:
        data = read_yaml(path)
    except BadInput as exc:
        return [str(exc)]
    return schema_errors(data, path)
