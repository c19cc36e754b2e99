"""Content-addressed cache of built hosts, repos and keys.

Layout under `$MIGRATE_TEST_CACHE` (default `tests/.cache/`):

    keys-<builder digest>/<label>/      generated signing keys (keys.py)
    <host name>-<hash>/                 a built host (root/, rpms/, keys/, meta.json)
    repo-<hash>/                        a createrepo_c repository

`<hash>` covers the full spec plus the builder's own source files, so any
change to either rebuilds. Entries are built in a temporary sibling directory
and renamed into place; an flock on `.locks/<entry>.lock` makes concurrent
pytest-xdist workers wait for one builder instead of racing. Every entry records
the builder digest it was made with; `prune()` deletes entries and key stores
of other builder versions (run it by hand: `python3 -c 'import hostbuild;
hostbuild.prune_cache()'` from tests/).
"""

import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Tuple

_HERE = Path(__file__).resolve().parent
_DIGEST = None


def cache_root() -> Path:
    env = os.environ.get("MIGRATE_TEST_CACHE")
    root = Path(env) if env else _HERE.parent / ".cache"
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def builder_digest() -> str:
    """sha256 over this package's own .py files (names and contents)."""
    global _DIGEST
    if _DIGEST is None:
        h = hashlib.sha256()
        for path in sorted(_HERE.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        _DIGEST = h.hexdigest()
    return _DIGEST


def key_store() -> Path:
    return cache_root() / ("keys-%s" % builder_digest()[:12])


def entry_name(prefix: str, spec_digest: str) -> str:
    h = hashlib.sha256((spec_digest + builder_digest()).encode()).hexdigest()[:16]
    return "%s-%s" % (prefix, h)


@contextmanager
def _locked(name: str) -> Iterator[None]:
    locks = cache_root() / ".locks"
    locks.mkdir(exist_ok=True)
    with open(locks / (name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def get_or_build(name: str, build: Callable[[Path], None], marker: str = "meta.json"
                 ) -> Tuple[Path, bool]:
    """Return (entry dir, cache_hit). `build(tmpdir)` fills a fresh directory."""
    final = cache_root() / name
    if (final / marker).exists():
        return final, True
    with _locked(name):
        if (final / marker).exists():
            return final, True
        if final.exists():                  # half-written leftovers of a crash
            shutil.rmtree(final)
        tmp = cache_root() / (".tmp-%s-%d" % (name, os.getpid()))
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            build(tmp)
            if not (tmp / marker).exists():
                raise RuntimeError("builder of %s wrote no %s" % (name, marker))
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final, False


def prune() -> list:
    """Remove cache entries and key stores made by other builder versions."""
    root = cache_root()
    current = builder_digest()
    removed = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("keys-"):
            stale = entry.name != key_store().name
        elif (entry / "meta.json").exists() or (entry / "hostbuild-repo.json").exists():
            meta = entry / ("meta.json" if (entry / "meta.json").exists() else "hostbuild-repo.json")
            try:
                stale = json.loads(meta.read_text()).get("builder") != current
            except ValueError:
                stale = True
        elif entry.name.startswith(".tmp-"):
            stale = entry.stat().st_mtime < time.time() - 3600
        else:
            continue                     # not ours (e.g. a benchmark's own files)
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
