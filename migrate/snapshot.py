"""Target package snapshots: what a target's repositories offer, as a compact file.

`build_snapshot()` reads repositories (local directories, ``file://`` or
``http(s)://`` URLs, or earlier snapshots) and writes one JSON file, gzipped
when its name ends in ``.gz``. One package per line keeps diffs of snapshots
readable::

    {
     "schema_version": 1,
     "kind": "migrate.repo-snapshot",
     "generated_at": "2026-11-23T04:00:00Z",
     "fields": ["name", "epoch", "version", "release", "arch", "provides", "module_paths", "repo"],
     "repos": [
      {"url": "https://mirror/BaseOS/x86_64/os/", "repomd_sha256": "...", "revision": "1600000000",
       "packages": 2, "fetched_at": "2026-11-23T03:59:58Z", "offline": false}
     ],
     "packages": [
    ["kernel-core",0,"4.18.0","348.el8","x86_64",["kernel = 4.18.0-348.el8",...],["/lib/modules/.../xfs.ko.xz"],0],
    ["openssl-libs",1,"1.1.1k","5.el8","x86_64",["libssl.so.1.1()(64bit)",...],[],0]
     ]
    }

Provides are written as ``dnf repoquery --provides`` prints them (``name``,
``name = [E:]V-R``); ``repo`` indexes ``repos``. `load_target_packages()` takes
a repository or a snapshot file (`load_target_sources()` several, merged, e.g.
BaseOS + AppStream) and returns a read-only `Snapshot` with
lookups by name, by provide, by kernel module, and the newest EVR of a name
(rpm's ordering, `migrate.collector.labelcompare`). Indexes are built on first
use, so loading 10,000 packages costs little more than the JSON parse.
"""
from __future__ import annotations

import functools
import json
import os
import time
import urllib.parse
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from migrate import console
from migrate.errors import BadInput

SCHEMA_VERSION = 1
KIND = "migrate.repo-snapshot"
FIELDS = ("name", "epoch", "version", "release", "arch", "provides", "module_paths", "repo")
SOURCE_ARCHES = ("src", "nosrc")


class Package(NamedTuple):
    """One package a target repository offers."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    provides: Tuple[str, ...]
    module_paths: Tuple[str, ...]
    repo: int  # index into Snapshot.repos

    @property
    def evr(self) -> Tuple[int, str, str]:
        return (self.epoch, self.version, self.release)

    @property
    def nevra(self) -> str:
        epoch = "%d:" % self.epoch if self.epoch else ""
        return "%s-%s%s-%s.%s" % (self.name, epoch, self.version, self.release, self.arch)


@dataclass(frozen=True)
class RepoInfo:
    """One repository a snapshot was made from."""

    url: str
    repomd_sha256: str
    revision: Optional[str]
    packages: int
    fetched_at: Optional[str] = None   # when the metadata was downloaded (URLs only)
    offline: bool = False              # the network failed: cached metadata was used
    cached: bool = False               # this run downloaded no primary/filelists (not saved)

    def document(self) -> dict:
        return {"url": self.url, "repomd_sha256": self.repomd_sha256, "revision": self.revision,
                "packages": self.packages, "fetched_at": self.fetched_at, "offline": self.offline}


@dataclass(frozen=True)
class SnapshotSummary:
    """What `build_snapshot` wrote."""

    output: str
    packages: int
    module_paths: int
    repos: Tuple[RepoInfo, ...]
    warnings: Tuple[str, ...]


def module_name(path: str) -> str:
    """Kernel module name of a file path as modprobe uses it (migrate.collector's rule,
    the same for host and target modules)."""
    from migrate.collector import module_name as name_of
    return name_of(path)


def labelcompare(evr1: Tuple[int, str, str], evr2: Tuple[int, str, str]) -> int:
    """rpm's EVR ordering (migrate.collector's, imported on first use: loading a snapshot
    must not pay for importing the collector)."""
    from migrate.collector import labelcompare as compare
    return compare(evr1, evr2)


def _evr_key():
    from migrate.collector import labelcompare as compare
    return functools.cmp_to_key(lambda a, b: compare(a.evr, b.evr))


class Snapshot:
    """Read-only view of a target's packages, with lookups built on first use."""

    __slots__ = ("_packages", "_repos", "_generated_at", "_source", "_warnings",
                 "_by_name", "_by_provide", "_by_module")

    def __init__(self, packages: Sequence[Package], repos: Sequence[RepoInfo], generated_at: str,
                 source: str, warnings: Sequence[str] = ()):
        set_ = object.__setattr__
        set_(self, "_packages", tuple(packages))
        set_(self, "_repos", tuple(repos))
        set_(self, "_generated_at", generated_at)
        set_(self, "_source", source)
        set_(self, "_warnings", tuple(warnings))
        for lazy in ("_by_name", "_by_provide", "_by_module"):
            set_(self, lazy, None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Snapshot is read-only")

    def __repr__(self) -> str:
        return "<Snapshot %s: %d packages from %d repos>" % (self._source, len(self._packages), len(self._repos))

    # -- plain data ------------------------------------------------------------------------
    schema_version = SCHEMA_VERSION

    @property
    def packages(self) -> Tuple[Package, ...]:
        return self._packages

    @property
    def repos(self) -> Tuple[RepoInfo, ...]:
        return self._repos

    @property
    def generated_at(self) -> str:
        return self._generated_at

    @property
    def source(self) -> str:
        """What this was loaded from: a snapshot file, a directory or a URL."""
        return self._source

    @property
    def warnings(self) -> Tuple[str, ...]:
        """Why the data may be stale (offline use of a cache), one line each."""
        return self._warnings

    @property
    def offline(self) -> bool:
        return any(repo.offline for repo in self._repos)

    def __len__(self) -> int:
        return len(self._packages)

    def __iter__(self) -> Iterator[Package]:
        return iter(self._packages)

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    # -- indexes ---------------------------------------------------------------------------
    def _names(self) -> Dict[str, Tuple[Package, ...]]:
        if self._by_name is None:
            index: Dict[str, List[Package]] = {}
            for pkg in self._packages:
                index.setdefault(pkg.name, []).append(pkg)
            key = _evr_key()
            object.__setattr__(self, "_by_name", {name: tuple(sorted(pkgs, key=key)) if len(pkgs) > 1 else tuple(pkgs)
                                                  for name, pkgs in index.items()})
        return self._by_name  # type: ignore[return-value]

    def _provides(self) -> Dict[str, Tuple[Package, ...]]:
        if self._by_provide is None:
            index: Dict[str, List[Package]] = {}
            for pkg in self._packages:
                for provide in pkg.provides:
                    bucket = index.setdefault(provide.partition(" ")[0], [])
                    if not bucket or bucket[-1] is not pkg:  # "foo" and "foo = 1" from one package
                        bucket.append(pkg)
            object.__setattr__(self, "_by_provide", {k: tuple(v) for k, v in index.items()})
        return self._by_provide  # type: ignore[return-value]

    def _modules(self) -> Dict[str, Tuple[Package, ...]]:
        if self._by_module is None:
            index: Dict[str, List[Package]] = {}
            for pkg in self._packages:
                for path in pkg.module_paths:
                    bucket = index.setdefault(module_name(path), [])
                    if not bucket or bucket[-1] is not pkg:
                        bucket.append(pkg)
            object.__setattr__(self, "_by_module", {k: tuple(v) for k, v in index.items()})
        return self._by_module  # type: ignore[return-value]

    # -- lookups ---------------------------------------------------------------------------
    def names(self) -> Tuple[str, ...]:
        return tuple(sorted(self._names()))

    def by_name(self, name: str) -> Tuple[Package, ...]:
        """Every package called `name` (all EVRs and arches), oldest EVR first."""
        return self._names().get(name, ())

    def evrs(self, name: str) -> Tuple[Tuple[int, str, str], ...]:
        """Distinct (epoch, version, release) of `name`, oldest first."""
        seen: List[Tuple[int, str, str]] = []
        for pkg in self.by_name(name):
            if pkg.evr not in seen:
                seen.append(pkg.evr)
        return tuple(seen)

    def newest(self, name: str, arch: Optional[str] = None) -> Optional[Package]:
        """The highest-EVR binary package `name` (of `arch` if given), or None."""
        best = None
        for pkg in self.by_name(name):
            if pkg.arch in SOURCE_ARCHES or (arch is not None and pkg.arch != arch):
                continue
            if best is None or labelcompare(pkg.evr, best.evr) >= 0:
                best = pkg
        return best

    def newest_evr(self, name: str) -> Optional[Tuple[int, str, str]]:
        pkg = self.newest(name)
        return pkg.evr if pkg else None

    def providers(self, provide: str) -> Tuple[Package, ...]:
        """Packages providing `provide` (a capability name: a package name, a soname such
        as ``libssl.so.1.1()(64bit)``, ``perl(strict)``...), whatever version they provide."""
        return self._provides().get(provide.partition(" ")[0], ())

    def modules(self) -> Mapping[str, Tuple[Package, ...]]:
        """Kernel module name (see `module_name`) -> packages shipping a file of it."""
        return MappingProxyType(self._modules())

    def module_providers(self, module: str) -> Tuple[Package, ...]:
        """Packages shipping kernel module `module` (a name, file name or path)."""
        return self._modules().get(module_name(module), ())


# -- documents -----------------------------------------------------------------------------

def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def dump_document(repos: Sequence[RepoInfo], packages: Sequence[Sequence], generated_at: str) -> bytes:
    """The snapshot JSON: a short header, then one package per line."""
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    head = [("schema_version", SCHEMA_VERSION), ("kind", KIND), ("generated_at", generated_at),
            ("fields", list(FIELDS))]
    lines = ["{"] + [' "%s": %s,' % (key, json.dumps(value)) for key, value in head]
    lines.append(' "repos": [\n  ' + ",\n  ".join(json.dumps(r.document()) for r in repos) + "\n ],")
    lines.append(' "packages": [\n' + ",\n".join(encode(list(row)) for row in packages) + "\n ]")
    lines.append("}\n")
    return "\n".join(lines).encode("utf-8")


def _parse_document(data: bytes, where: str) -> Snapshot:
    if data[:2] == b"\x1f\x8b":
        import gzip
        import zlib
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput("%s: corrupt gzip snapshot (%s)" % (where, exc)) from None
    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        raise BadInput("%s: not a snapshot (not UTF-8 JSON)" % where) from None
    except ValueError as exc:
        raise BadInput("%s: not a snapshot (malformed JSON: %s)" % (where, exc)) from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise BadInput("%s: not a migrate repository snapshot (no \"kind\": %r)" % (where, KIND))
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise BadInput("%s: snapshot schema_version %r is not supported (this migrate reads %d)"
                       % (where, doc.get("schema_version"), SCHEMA_VERSION))
    try:
        repos = tuple(RepoInfo(url=r["url"], repomd_sha256=r["repomd_sha256"], revision=r.get("revision"),
                               packages=int(r["packages"]), fetched_at=r.get("fetched_at"),
                               offline=bool(r.get("offline"))) for r in doc["repos"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput("%s: malformed snapshot: bad \"repos\" entry (%s)" % (where, exc)) from None
    rows = doc.get("packages")
    if not isinstance(rows, list):
        raise BadInput("%s: malformed snapshot: \"packages\" is not a list" % where)
    nrepos = len(repos)
    packages = []
    for number, row in enumerate(rows, 1):
        try:
            name, epoch, version, release, arch, provides, modules, repo = row
            if not (type(name) is str and type(epoch) is int and type(version) is str and type(release) is str
                    and type(arch) is str and type(provides) is list and type(modules) is list
                    and type(repo) is int and 0 <= repo < nrepos):
                raise ValueError
            packages.append(Package(name, epoch, version, release, arch, tuple(provides), tuple(modules), repo))
        except (TypeError, ValueError):
            raise BadInput("%s: malformed snapshot: package row %d is not %s"
                           % (where, number, "[" + ", ".join(FIELDS) + "]")) from None
    # A snapshot built while offline holds cached metadata: every later reader is told too.
    warnings = ["%s: metadata in snapshot %s came from the cache (fetched %s), the network being unavailable"
                % (repo.url, where, repo.fetched_at or "earlier") for repo in repos if repo.offline]
    return Snapshot(packages, repos, str(doc.get("generated_at", "")), where, warnings)


def load_snapshot(path: str) -> Snapshot:
    """Read a snapshot file (plain or gzipped JSON)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise BadInput("%s: cannot read snapshot: %s" % (path, exc.strerror or exc)) from None
    return _parse_document(data, path)


# -- sources -------------------------------------------------------------------------------

def source_kind(source: str) -> Tuple[str, str]:
    """('url', URL), ('repo', directory) or ('snapshot', file) for what the user named."""
    if source.startswith(("http://", "https://")):
        return "url", source
    path = source
    if "://" in source or source.startswith("file:"):
        parts = urllib.parse.urlsplit(source)
        if parts.scheme != "file":
            raise BadInput("%s: unsupported URL scheme %r (use http, https or file)" % (source, parts.scheme))
        if parts.netloc not in ("", "localhost"):
            raise BadInput("%s: file:// URL of another host %r" % (source, parts.netloc))
        from urllib.request import url2pathname  # 40 ms of imports: only for file: URLs
        path = url2pathname(parts.path)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "repodata", "repomd.xml")):
            raise BadInput("%s: not a repository: repodata/repomd.xml not found" % source)
        return "repo", path
    if os.path.isfile(path):
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.basename(path) == "repomd.xml" and os.path.basename(parent) == "repodata":
            return "repo", os.path.dirname(parent)
        return "snapshot", path
    raise BadInput("%s: no such repository directory or snapshot file" % source)


def _repo_url(path: str) -> str:
    from urllib.request import pathname2url
    return "file://" + pathname2url(os.path.abspath(path))


def parsed_cache_name() -> str:
    """File name of the parsed metadata kept in a fetch cache entry, so a repeated
    `assess --target-repo URL` reads JSON instead of re-parsing filelists. Named by
    snapshot schema and reader version: an upgraded migrate re-parses."""
    from migrate.repodata import READER_VERSION
    return "parsed-s%d-r%d.json" % (SCHEMA_VERSION, READER_VERSION)


def _parsed_cache_load(entry: str, sha: str) -> Optional[List[tuple]]:
    try:
        with open(os.path.join(entry, parsed_cache_name()), "rb") as handle:
            snap = _parse_document(handle.read(), entry)
    except (OSError, BadInput):
        return None
    if len(snap.repos) != 1 or snap.repos[0].repomd_sha256 != sha:
        return None
    return [tuple(pkg[:7]) for pkg in snap.packages]


def _parsed_cache_save(entry: str, info: RepoInfo, rows: List[tuple]) -> None:
    from migrate.atomic import atomic_file
    try:
        with atomic_file(os.path.join(entry, parsed_cache_name())) as handle:
            handle.write(dump_document([info], [row + (0,) for row in rows], _now()))
    except OSError:
        pass  # only a speed-up: a read-only cache still works


def _read_source(source: str, cache_dir: Optional[str], timeout: float, retries: int,
                 backoff: float) -> Tuple[List[RepoInfo], List[tuple], List[str]]:
    """Repos, package rows (with repo index relative to those repos) and warnings."""
    from migrate import repodata
    kind, where = source_kind(source)
    if kind == "snapshot":
        snap = load_snapshot(where)
        return list(snap.repos), [tuple(pkg) for pkg in snap.packages], list(snap.warnings)
    if kind == "repo":
        data = repodata.read_repo(where, source)
        info = RepoInfo(url=_repo_url(where), repomd_sha256=data.repomd_sha256, revision=data.revision,
                        packages=len(data.packages))
        return [info], [row + (0,) for row in data.packages], []
    from migrate import fetch
    fetched = fetch.fetch_repo(where, cache_dir, timeout=timeout, retries=retries, backoff=backoff)
    entry = str(fetched.path)
    rows = _parsed_cache_load(entry, fetched.repomd_sha256)
    if rows is None:
        data = repodata.read_repo(entry, where)
        rows, revision = data.packages, data.revision
    else:
        revision = fetch.entry_info(fetched.path).get("revision")
    info = RepoInfo(url=where, repomd_sha256=fetched.repomd_sha256, revision=revision, packages=len(rows),
                    fetched_at=fetched.fetched_at or None, offline=fetched.offline, cached=fetched.cached)
    if not os.path.exists(os.path.join(entry, parsed_cache_name())):
        _parsed_cache_save(entry, info, rows)
    warnings = []
    if fetched.offline:
        warnings.append("%s: network unavailable, using cached metadata fetched %s (%s)"
                        % (where, fetched.fetched_at or "earlier", fetched.offline_reason))
    return [info], [row + (0,) for row in rows], warnings


def _read_sources(sources: Sequence[str], cache_dir: Optional[str], timeout: float, retries: int,
                  backoff: float, warn: Optional[Callable[[str], None]]
                  ) -> Tuple[List[RepoInfo], List[tuple], List[str]]:
    if not sources:
        raise BadInput("no repository or snapshot given")
    repos: List[RepoInfo] = []
    rows: List[tuple] = []
    warnings: List[str] = []
    seen = set()
    for source in sources:
        if source in seen:
            continue
        seen.add(source)
        got_repos, got_rows, got_warnings = _read_source(source, cache_dir, timeout, retries, backoff)
        offset = len(repos)
        repos.extend(got_repos)
        rows.extend(row[:7] + (row[7] + offset,) for row in got_rows)
        for warning in got_warnings:
            if warn is not None:
                warn(warning)
        warnings.extend(got_warnings)
    # One order whatever the sources' order: snapshots diff well and compare equal.
    rows.sort(key=lambda row: (row[0], row[4], row[1], row[2], row[3], row[7]))
    return repos, rows, warnings


def _stderr_warning(message: str) -> None:
    console.warning("%s", message)


def build_snapshot(sources: List[str], output: str, cache_dir: Optional[str] = None, timeout: float = 30,
                   retries: int = 3, backoff: float = 0.5,
                   warn: Optional[Callable[[str], None]] = None) -> SnapshotSummary:
    """Read every source (repository directory, file:// or http(s):// URL, or snapshot
    file) and write one snapshot to `output` (gzipped if it ends in .gz), atomically.

    URLs go through the cache (`migrate.fetch`): `timeout` seconds per socket
    operation, `retries` retries of transient failures (so retries + 1 attempts),
    exponential backoff from `backoff` seconds. Offline use of the cache is in
    the summary's `warnings` (also passed to `warn` as it happens, if given)."""
    if not sources:
        raise BadInput("no repository given to build a snapshot from")
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise BadInput("cannot write %s: directory %s does not exist" % (output, directory))
    repos, rows, warnings = _read_sources(sources, cache_dir, timeout, retries, backoff, warn)
    data = dump_document(repos, rows, _now())
    if output.endswith(".gz"):
        import gzip
        # mtime=0: the same repositories give the same bytes, whenever they are built.
        data = gzip.compress(data, compresslevel=6, mtime=0)
    from migrate.atomic import atomic_file
    try:
        with atomic_file(output) as handle:
            handle.write(data)
    except OSError as exc:
        raise BadInput("cannot write %s: %s" % (output, exc.strerror or exc)) from None
    return SnapshotSummary(output=output, packages=len(rows), module_paths=sum(len(r[6]) for r in rows),
                           repos=tuple(repos), warnings=tuple(warnings))


def load_target_sources(sources: Sequence[str], cache_dir: Optional[str] = None, timeout: float = 30,
                        retries: int = 3, backoff: float = 0.5,
                        warn: Optional[Callable[[str], None]] = _stderr_warning) -> Snapshot:
    """What a target offers, from one or more repositories (directories or URLs) and
    snapshot files, merged (BaseOS + AppStream + ...).

    Nothing is written but the fetch cache. Warnings (offline use of the cache, or
    a snapshot that was built offline) are in `Snapshot.warnings` and go to `warn`
    (default: a `migrate: warning:` line on stderr; None to stay quiet)."""
    if len(sources) == 1 and source_kind(sources[0])[0] == "snapshot":
        snap = load_snapshot(source_kind(sources[0])[1])
        for warning in snap.warnings if warn is not None else ():
            warn(warning)
        return snap
    repos, rows, warnings = _read_sources(sources, cache_dir, timeout, retries, backoff, warn)
    packages = [Package(r[0], r[1], r[2], r[3], r[4], tuple(r[5]), tuple(r[6]), r[7]) for r in rows]
    return Snapshot(packages, repos, _now(), ", ".join(dict.fromkeys(sources)), warnings)


def load_target_packages(source: str, cache_dir: Optional[str] = None, timeout: float = 30, retries: int = 3,
                         backoff: float = 0.5, warn: Optional[Callable[[str], None]] = _stderr_warning) -> Snapshot:
    """What a target offers, from one snapshot file or one repository (directory or
    URL): `load_target_sources([source], ...)`."""
    return load_target_sources([source], cache_dir, timeout, retries, backoff, warn)
