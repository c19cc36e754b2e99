"""build_host(): spec -> cached, installed host root. build_repo(): pkgs -> repo.

A built host entry holds

    root/       the host root (rpmdb in root/var/lib/rpm, sqlite or Berkeley DB)
    rpms/       the built .rpm files
    keys/       <label>.asc public keys used
    meta.json   spec digest, key ids, NEVRAs, timings
"""

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from . import bdb, dnfinstall, rootfs
from .cache import builder_digest, entry_name, get_or_build, key_store
from .keys import KeyInfo, ensure_key
from .model import HostSpec, Pkg
from .rpms import build_rpms
from .tools import run, which


@dataclass
class BuiltHost:
    spec: HostSpec
    path: Path
    root: Path
    rpms_dir: Path
    keys: Dict[str, str]                 # label -> long key id (16 lowercase hex)
    cache_hit: bool
    meta: dict = field(default_factory=dict)

    @property
    def rpmdb_backend(self) -> str:
        """Value for %_db_backend to read this root's rpmdb."""
        return "bdb_ro" if self.spec.rpmdb == "bdb" else "sqlite"

    def rpm(self, *args: str) -> str:
        """Run `rpm --root ROOT --dbpath /var/lib/rpm [--define _db_backend ..] ARGS`."""
        return rootfs.query(self.root, *args, backend=self.rpmdb_backend)

    def pubkey(self, label: str) -> Path:
        return self.path / "keys" / ("%s.asc" % label)


def _keys_for(labels) -> Dict[str, KeyInfo]:
    store = key_store()
    return {label: ensure_key(store, label) for label in labels}


def _build_into(spec: HostSpec, tmp: Path) -> None:
    t0 = time.time()
    keys = _keys_for(spec.key_labels)
    timings: Dict[str, float] = {}
    built = build_rpms(spec.packages, tmp / "rpms", keys, spec.buildtime, spec.buildhost, timings)
    t1 = time.time()
    root = tmp / "root"
    rootfs.layout(root)
    if spec.transactions:
        dnfinstall.install(root, spec, built)
    else:
        rootfs.install(root, [built[p.nevra] for p in spec.packages])
    rootfs.check_no_stray_rpmdb(root)
    (tmp / "keys").mkdir()
    for label, info in keys.items():
        shutil.copyfile(info.pubkey, tmp / "keys" / ("%s.asc" % label))
    rootfs.import_keys(root, [tmp / "keys" / ("%s.asc" % label) for label in spec.import_keys])
    rootfs.finalize_sqlite(root)
    rootfs.write_files(root, spec.files)
    if spec.rpmdb == "bdb":
        bdb.convert(root)
    rootfs.check_no_stray_rpmdb(root)
    t2 = time.time()
    meta = {
        "name": spec.name,
        "builder": builder_digest(),
        "spec_digest": spec.digest(),
        "rpmdb": spec.rpmdb,
        "keys": {label: info.keyid for label, info in keys.items()},
        "nevras": sorted(p.nevra for p in spec.packages),
        "installed_by": "dnf" if spec.transactions else "rpm",
        "build_seconds": dict(timings, rpms=round(t1 - t0, 3), root=round(t2 - t1, 3)),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def build_host(spec: HostSpec) -> BuiltHost:
    """Build (or reuse from the cache) the host root described by `spec`."""
    name = entry_name(spec.name, spec.digest())
    path, hit = get_or_build(name, lambda tmp: _build_into(spec, tmp))
    meta = json.loads((path / "meta.json").read_text())
    return BuiltHost(spec=spec, path=path, root=path / "root", rpms_dir=path / "rpms",
                     keys=meta["keys"], cache_hit=hit, meta=meta)


def build_repo(pkgs: List[Pkg], name: str = "repo", buildtime: int = 1600000000,
               buildhost: str = "localhost") -> Path:
    """Build `pkgs` (signed per sign_key) into a createrepo_c repository; returns its dir."""
    spec = HostSpec(name=name, packages=list(pkgs), buildtime=buildtime, buildhost=buildhost)

    def _build(tmp: Path) -> None:
        keys = _keys_for(spec.key_labels)
        build_rpms(spec.packages, tmp / "Packages", keys, buildtime, buildhost)
        run([which("createrepo_c"), "--quiet", "--no-database", str(tmp)])
        meta = {"builder": builder_digest(), "keys": {k: v.keyid for k, v in keys.items()},
                "nevras": sorted(p.nevra for p in pkgs)}
        (tmp / "hostbuild-repo.json").write_text(json.dumps(meta, indent=1, sort_keys=True))

    path, _ = get_or_build(entry_name("repo-" + name, spec.digest()), _build,
                           marker="hostbuild-repo.json")
    return path


def repo_keys(repo: Path) -> Dict[str, str]:
    return json.loads((repo / "hostbuild-repo.json").read_text())["keys"]


def built_path(spec: HostSpec) -> Optional[Path]:
    """Cache directory of `spec` if it is already built, else None."""
    from .cache import cache_root
    path = cache_root() / entry_name(spec.name, spec.digest())
    return path if (path / "meta.json").exists() else None
