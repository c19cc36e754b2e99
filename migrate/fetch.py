"""Download a repository's metadata over HTTP(S) into a local cache.

Only what the snapshot needs is fetched: ``repodata/repomd.xml``, then the
primary and filelists files it lists. The cache lives in ``cache_dir`` (an
argument), else ``$MIGRATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/migrate/repodata``
(``~/.cache/migrate/repodata``)::

    <cache>/<host-path>-<sha256(url)[:12]>/
        latest                      sha256 of the newest complete entry's repomd.xml
        <repomd sha256>/            one complete entry, laid out like the repository:
            repodata/repomd.xml     (so `migrate.repodata.read_repo` reads it as is)
            repodata/...-primary.xml.gz
            repodata/...-filelists.xml.gz
            entry.json              url, fetch time, files: written last
        .partial-<pid>-<random>/    an entry being downloaded

An entry is keyed by the checksum of the repomd.xml it came from, so a changed
repository gets a new entry and an unchanged one costs one small request. It is
downloaded into a ``.partial-*`` sibling and renamed into place only when every
file has passed its checksum: an entry directory is complete or absent, even if
the process is interrupted or killed (a killed run's ``.partial-*`` is removed by
the next run, once its process is gone).

Transient failures (connection refused or reset, timeouts, truncated bodies,
HTTP 408/429/5xx) are retried with exponential backoff; 404 and other client
errors are not. When the network fails and the cache holds a complete entry for
the URL, that entry is used and the result says it is offline and why.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import io
import json
import os
import random
import re
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Optional

from migrate import repodata
from migrate.atomic import atomic_file
from migrate.errors import BadInput

USER_AGENT = "migrate-repodata/1 (read-only assessment; python-urllib)"
CHUNK = 1 << 16
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 60.0
# Without a declared size a metadata file is still bounded: primary+filelists of the
# biggest public repos are a few hundred MiB compressed.
MAX_UNDECLARED_BYTES = 4 << 30
ENTRY_MARKER = "entry.json"
_NETWORK_ERRNOS = (errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT,
                   errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN)


class FetchError(BadInput):
    """A download failed. `transient` is true for network trouble that a cached copy
    may stand in for (timeouts, refused or reset connections, 5xx), false for answers
    that a retry would not change (404, checksum mismatch)."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class FetchedRepo:
    """A repository's metadata available locally at `path` (a complete cache entry)."""

    url: str
    path: Path
    repomd_sha256: str
    fetched_at: str
    cached: bool            # only repomd.xml was downloaded: primary/filelists were cached
    offline: bool = False   # the network failed; this is an earlier complete entry
    offline_reason: Optional[str] = None


def default_cache_dir() -> Path:
    env = os.environ.get("MIGRATE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "migrate" / "repodata"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _base_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def url_key(url: str) -> str:
    """Cache directory name of a repository URL: readable, and unique by hash."""
    parts = urllib.parse.urlsplit(url)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", (parts.netloc + parts.path).strip("/"))[:80]
    return "%s-%s" % (readable or "repo", hashlib.sha256(_base_url(url).encode("utf-8")).hexdigest()[:12])


# -- atomic directories (files: migrate.atomic.atomic_file) ---------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(key_dir: Path) -> None:
    """Remove `.partial-*` directories whose process is gone (killed runs) or that are
    older than a day (another machine's process on a shared cache)."""
    try:
        names = os.listdir(key_dir)
    except OSError:
        return
    for name in names:
        path = key_dir / name
        if name.startswith(".latest."):  # a killed run's temporary pointer file
            try:
                if time.time() - path.stat().st_mtime > 3600:
                    path.unlink()
            except OSError:
                pass
            continue
        if not name.startswith((".partial-", ".trash-")):
            continue
        try:
            pid = int(name.split("-")[1])
            old = time.time() - path.stat().st_mtime > 86400
        except (ValueError, IndexError, OSError):
            pid, old = 0, True
        if old or not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def _remove_tree_atomically(path: Path) -> None:
    """Rename out of the way first, so a reader never sees an entry half-deleted."""
    trash = path.parent / (".trash-%d-%s" % (os.getpid(), path.name))
    try:
        os.rename(path, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def complete_entry(key_dir: Path, sha: str) -> Optional[Path]:
    """The entry for repomd.xml checksum `sha` if it is complete, else None."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha or ""):
        return None
    entry = key_dir / sha
    return entry if (entry / ENTRY_MARKER).is_file() else None


def latest_entry(key_dir: Path) -> Optional[Path]:
    try:
        sha = (key_dir / "latest").read_text().strip()
    except OSError:
        return None
    return complete_entry(key_dir, sha)


def entry_info(entry: Path) -> dict:
    try:
        return json.loads((entry / ENTRY_MARKER).read_text())
    except (OSError, ValueError):
        return {}


# -- HTTP with retries ----------------------------------------------------------------------

class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, reason: str, retry_after: Optional[float] = None):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "cannot resolve host (%s)" % (exc.strerror or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _retry_after(headers) -> Optional[float]:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the exponential backoff is used instead


def _attempt(url: str, sink: BinaryIO, timeout: float, max_bytes: int, label: str) -> None:
    """One GET of `url` into `sink`. Raises _Transient or FetchError."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Transient("HTTP %d %s" % (exc.code, exc.reason), _retry_after(exc.headers)) from None
        raise FetchError("%s: HTTP %d %s%s" % (url, exc.code, exc.reason, label)) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.gaierror) and reason.errno != socket.EAI_AGAIN:
            # A name that does not resolve will not on a retry either; but an air-gapped
            # host may still use a cached copy, so it counts as a network failure.
            raise FetchError("%s: %s" % (url, _describe(reason)), transient=True) from None
        if isinstance(reason, (socket.timeout, TimeoutError, ConnectionError, socket.gaierror)) or (
                isinstance(reason, OSError) and reason.errno in _NETWORK_ERRNOS):
            raise _Transient(_describe(reason)) from None
        # TLS certificate errors and the like: a retry changes nothing, and a cached
        # copy must not stand in for a server that failed verification.
        raise FetchError("%s: %s" % (url, _describe(reason) if isinstance(reason, BaseException) else reason)) \
            from None
    except (socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Transient(_describe(exc)) from None
    with response:
        declared = response.headers.get("Content-Length")
        received = 0
        try:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > max_bytes:
                    raise FetchError("%s: larger than the %d bytes expected%s" % (url, max_bytes, label))
                sink.write(chunk)
        except (socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise _Transient("%s (after %d bytes of the body)" % (_describe(exc), received)) from None
        # http.client ends a short body quietly when the server closes early.
        if declared is not None and declared.isdigit() and received != int(declared):
            raise _Transient("truncated download (%d of %s bytes)" % (received, declared))


def _failure(url: str, last: "_Transient", attempts: int, timeout: float) -> FetchError:
    host = urllib.parse.urlsplit(url).netloc
    if last.reason == "connection refused":
        message = "%s: cannot connect to %s: connection refused (%d attempts)" % (url, host, attempts)
    elif last.reason.startswith("timed out"):
        message = "%s: %s after %d attempts (timeout %gs each)" % (url, last.reason, attempts, timeout)
    else:
        message = "%s: %s (%d attempts)" % (url, last.reason, attempts)
    return FetchError(message, transient=True)


def _retrying(url: str, once: Callable[[], None], timeout: float, retries: int, backoff: float,
              sleep: Callable[[float], None]) -> None:
    """Call `once()` until it does not raise _Transient, at most `retries` + 1 times,
    sleeping with exponential backoff (or the server's Retry-After) in between."""
    attempts = max(0, retries) + 1
    last: Optional[_Transient] = None
    for attempt in range(attempts):
        if attempt:
            delay = min(backoff * (2 ** (attempt - 1)), MAX_BACKOFF)
            delay += random.uniform(0, delay / 4)  # jitter: a fleet does not retry in step
            if last is not None and last.retry_after is not None:
                delay = max(delay, last.retry_after)
            sleep(delay)
        try:
            once()
            return
        except _Transient as exc:
            last = exc
    assert last is not None
    raise _failure(url, last, attempts, timeout)


def download(url: str, dest: str, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
             max_bytes: int = MAX_UNDECLARED_BYTES, label: str = "",
             sleep: Callable[[float], None] = time.sleep) -> None:
    """GET `url` into the file `dest` (written atomically), retrying transient failures
    up to `retries` times. `label` adds context to errors (what the file is)."""
    def once() -> None:
        with atomic_file(dest) as sink:
            _attempt(url, sink, timeout, max_bytes, label)
    _retrying(url, once, timeout, retries, backoff, sleep)


def download_bytes(url: str, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                   max_bytes: int = MAX_UNDECLARED_BYTES, label: str = "",
                   sleep: Callable[[float], None] = time.sleep) -> bytes:
    """GET a small `url` into memory (repomd.xml), like `download`."""
    result = []

    def once() -> None:
        sink = io.BytesIO()
        _attempt(url, sink, timeout, max_bytes, label)
        result.append(sink.getvalue())
    _retrying(url, once, timeout, retries, backoff, sleep)
    return result[-1]


# -- repositories ---------------------------------------------------------------------------

def _check_downloaded(path: str, meta: repodata.MetadataFile, url: str) -> None:
    got, size = repodata.file_digest(path, meta.checksum_type)
    if got != meta.checksum:
        raise FetchError("%s: %s: %s" % (url, meta.href, repodata.mismatch_message(meta, got, size)))


def _download_entry(url: str, key_dir: Path, repomd_bytes: bytes, repomd: repodata.Repomd,
                    timeout: float, retries: int, backoff: float) -> Path:
    """Download primary and filelists next to repomd.xml in a partial directory and
    rename it to the entry; returns the entry."""
    base = _base_url(url)
    partial = Path(tempfile.mkdtemp(prefix=".partial-%d-" % os.getpid(), dir=key_dir))
    try:
        # mkdtemp makes 0700; an entry gets the usual umask-derived mode (a team may share a cache).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o777 & ~umask)
        (partial / "repodata").mkdir()
        (partial / "repodata" / "repomd.xml").write_bytes(repomd_bytes)
        files = []
        for kind in ("primary", "filelists"):
            meta = repomd.require(kind, url)
            dest = partial / meta.href
            dest.parent.mkdir(parents=True, exist_ok=True)
            limit = meta.size if meta.size is not None else MAX_UNDECLARED_BYTES
            source = urllib.parse.urljoin(_base_url(meta.base) if meta.base else base, meta.href)
            download(source, str(dest), timeout, retries, backoff,
                     max_bytes=limit, label=" (%s metadata listed in repodata/repomd.xml)" % kind)
            _check_downloaded(str(dest), meta, url)
            files.append(meta.href)
        info = {"url": url, "repomd_sha256": repomd.sha256, "revision": repomd.revision,
                "fetched_at": _now(), "files": files}
        (partial / ENTRY_MARKER).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
        entry = key_dir / repomd.sha256
        try:
            os.rename(partial, entry)
        except OSError as exc:
            # Another run completed the same entry first: theirs is as good as ours.
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or complete_entry(key_dir, repomd.sha256) is None:
                raise
        return entry
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


def _entry_intact(entry: Path, repomd: repodata.Repomd) -> bool:
    """Whether a cached entry's files still match repomd.xml (a user may have deleted
    or damaged them; the entry is then fetched again rather than failing forever)."""
    for kind in ("primary", "filelists"):
        meta = repomd.files.get(kind)
        if meta is None:
            return False
        try:
            got, _size = repodata.file_digest(str(entry / meta.href), meta.checksum_type)
        except OSError:
            return False
        if got != meta.checksum:
            return False
    return True


def _set_latest(key_dir: Path, sha: str) -> None:
    with atomic_file(str(key_dir / "latest")) as handle:
        handle.write((sha + "\n").encode("ascii"))
    for name in os.listdir(key_dir):
        if name != sha and re.fullmatch(r"[0-9a-f]{64}", name):
            _remove_tree_atomically(key_dir / name)


def _offline(url: str, key_dir: Path, reason: str) -> Optional[FetchedRepo]:
    entry = latest_entry(key_dir)
    if entry is None:
        return None
    base = _base_url(url)
    if reason.startswith(base):  # name the file relative to the repository, once
        reason = reason[len(base):]
    info = entry_info(entry)
    return FetchedRepo(url=url, path=entry, repomd_sha256=entry.name, fetched_at=info.get("fetched_at", ""),
                       cached=True, offline=True, offline_reason=reason)


def fetch_repo(url: str, cache_dir: Optional[str] = None, timeout: float = 30.0, retries: int = 3,
               backoff: float = 0.5) -> FetchedRepo:
    """Make `url`'s metadata available locally (a complete cache entry) and return it.

    Always asks the server for repomd.xml (that is how a change is seen); downloads
    primary and filelists only for a repomd.xml not cached yet. On network failure
    a complete cached entry is returned with ``offline=True``; without one the
    FetchError is raised."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    key_dir = cache / url_key(url)
    try:
        key_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput("cache directory %s: %s" % (cache, exc.strerror or exc)) from None
    _remove_stale_partials(key_dir)
    try:
        return _fetch(url, key_dir, timeout, retries, backoff)
    except BaseException:
        # A first fetch that failed leaves no trace: not even an empty directory.
        try:
            key_dir.rmdir()
        except OSError:
            pass
        raise


def _fetch(url: str, key_dir: Path, timeout: float, retries: int, backoff: float) -> FetchedRepo:
    repomd_url = urllib.parse.urljoin(_base_url(url), "repodata/repomd.xml")
    try:
        repomd_bytes = download_bytes(repomd_url, timeout, retries, backoff, max_bytes=repodata.MAX_REPOMD_BYTES,
                                      label=" (is this a repository URL?)")
    except FetchError as exc:
        fallback = _offline(url, key_dir, str(exc)) if exc.transient else None
        if fallback is None:
            raise
        return fallback
    repomd = repodata.parse_repomd(repomd_bytes, url)
    entry = complete_entry(key_dir, repomd.sha256)
    if entry is not None and not _entry_intact(entry, repomd):
        _remove_tree_atomically(entry)
        entry = None
    cached = entry is not None
    if entry is None:
        try:
            entry = _download_entry(url, key_dir, repomd_bytes, repomd, timeout, retries, backoff)
        except FetchError as exc:
            fallback = _offline(url, key_dir, str(exc)) if exc.transient else None
            if fallback is None:
                raise
            return fallback
    if (latest_entry(key_dir) or Path()).name != repomd.sha256:
        _set_latest(key_dir, repomd.sha256)
    info = entry_info(entry)
    return FetchedRepo(url=url, path=entry, repomd_sha256=repomd.sha256,
                       fetched_at=info.get("fetched_at", ""), cached=cached)
