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
PATH_KINDS = ("repo_swap", "cross_major", "independent_distribution", "downgrade")
SOURCE_DISTROS = ("centos",)
SOURCE_VARIANTS = ("linux", "stream")


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
class Manifest:
    id: str
    name: str
    version: str
    family: str
    el_major: Optional[int]
    architectures: Tuple[str, ...]
    os_release: Dict[str, Any]
    migration_paths: Tuple[MigrationPath, ...]
    path: str
    raw: Dict[str, Any]

    def path_from(self, distro: str, variant: str, major: int) -> Optional[MigrationPath]:
        for candidate in self.migration_paths:
            src = candidate.source
            if (src.distro, src.variant, src.major) == (distro, variant, major):
                return candidate
        return None


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
        if data is not None:
            return _validate(data, path)
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=loader)
    except OSError as exc:
        raise BadInput("%s: cannot read manifest: %s" % (path, exc.strerror or exc)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadInput("%s: not valid YAML: %s" % (path, str(exc).splitlines()[0])) from None
    return _validate(data, path)


def _need(data: Dict[str, Any], key: str, kind: Any, where: str, path: str,
          optional: bool = False) -> Any:
    if key not in data:
        if optional:
            return None
        raise BadInput("%s: %s%s: missing" % (path, where, key))
    value = data[key]
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise BadInput("%s: %s%s: expected %s" % (path, where, key, getattr(kind, "__name__", kind)))
    return value


def _validate(data: Any, path: str) -> Manifest:
    if not isinstance(data, dict):
        raise BadInput("%s: a manifest is a mapping at the top level" % path)
    paths = []
    for index, item in enumerate(_need(data, "migration_paths", list, "", path)):
        where = "migration_paths[%d]." % index
        if not isinstance(item, dict):
            raise BadInput("%s: %s: expected a mapping" % (path, where.rstrip(".")))
        src = _need(item, "from", dict, where, path)
        distro = _need(src, "distro", str, where + "from.", path)
        variant = _need(src, "variant", str, where + "from.", path)
        major = _need(src, "major", int, where + "from.", path)
        if distro not in SOURCE_DISTROS:
            raise BadInput("%s: %sfrom.distro: %r is not a known source" % (path, where, distro))
        if variant not in SOURCE_VARIANTS:
            raise BadInput("%s: %sfrom.variant: %r is not one of %s"
                           % (path, where, variant, ", ".join(SOURCE_VARIANTS)))
        kind = _need(item, "kind", str, where, path)
        if kind not in PATH_KINDS:
            raise BadInput("%s: %skind: %r is not one of %s" % (path, where, kind, ", ".join(PATH_KINDS)))
        paths.append(MigrationPath(SourceRef(distro, variant, major), kind,
                                   _need(item, "way_forward", str, where, path).strip(),
                                   _need(item, "evidence", str, where, path)))
    manifest_id = _need(data, "id", str, "", path)
    if os.path.basename(path) != manifest_id + ".yaml" and os.path.dirname(path) == DATA_DIR:
        raise BadInput("%s: id: %r does not match the file name" % (path, manifest_id))
    return Manifest(
        id=manifest_id,
        name=_need(data, "name", str, "", path),
        version=str(_need(data, "version", str, "", path)),
        family=_need(data, "family", str, "", path),
        el_major=_need(data, "el_major", int, "", path, optional=True),
        architectures=tuple(_need(data, "architectures", list, "", path)),
        os_release=_need(data, "os_release", dict, "", path),
        migration_paths=tuple(paths),
        path=path,
        raw=data,
    )
