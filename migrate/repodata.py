"""Read a yum/dnf repository's metadata from a local directory, streaming.

A repository is a directory with ``repodata/repomd.xml``; repomd.xml names the
other metadata files (``<data type="primary">``, ``"filelists"``, ...) with their
location, checksum, open-checksum (of the decompressed XML) and sizes::

    <repomd xmlns="http://linux.duke.edu/metadata/repo">
      <revision>1600000000</revision>
      <data type="primary">
        <checksum type="sha256">cb04...</checksum>
        <open-checksum type="sha256">9e4a...</open-checksum>
        <location href="repodata/cb04...-primary.xml.gz"/>
        <size>1157</size>
        <open-size>5453</open-size>
      </data>
      ...

`read_repo()` verifies each file against its declared checksum, decompresses it
by its magic bytes (gzip, xz, bzip2, zstd or plain XML), and parses primary.xml
and filelists.xml with `ElementTree.iterparse`, clearing every ``<package>``
once read, so memory stays proportional to what is kept: per package its
N-E-V-R-A, its provides (as ``dnf repoquery --provides`` prints them) and, from
filelists, only the kernel-module files it owns. Packages of the two files are
matched by pkgid (the package checksum).

Fetching from a URL is `migrate.fetch`'s job: it lays out the same directory in
its cache and this module reads it. Every problem is a `RepoError`, a
`BadInput` whose message is one line naming the repository and the file.
"""
from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import BinaryIO, Dict, List, Optional, Tuple

from migrate.collector import MODULE_SUFFIXES  # one definition of a kernel module file name
from migrate.errors import BadInput

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"
RPM_NS = "{http://linux.duke.edu/metadata/rpm}"
FILELISTS_NS = "{http://linux.duke.edu/metadata/filelists}"

# repomd.xml names checksum types as yum did: "sha" is SHA-1 (old createrepo).
CHECKSUM_TYPES = {"md5": "md5", "sha": "sha1", "sha1": "sha1", "sha224": "sha224",
                  "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}

# Bumped whenever what read_repo extracts changes: parsed results cached by
# migrate.snapshot carry it in their name, so an upgrade never reuses stale ones.
READER_VERSION = 2  # 2: .ko.bz2 module files kept too (the collector's suffix list)
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# repomd.xml is a few KiB; anything this large is not one, and is read whole.
MAX_REPOMD_BYTES = 16 * 1024 * 1024

_FLAGS = {"EQ": "=", "LT": "<", "GT": ">", "LE": "<=", "GE": ">="}

# A package as kept: name, epoch, version, release, arch, provides, module paths.
PackageRow = Tuple[str, int, str, str, str, Tuple[str, ...], Tuple[str, ...]]


class RepoError(BadInput):
    """Repository metadata that cannot be used: missing, corrupt, or inconsistent."""


@dataclass(frozen=True)
class MetadataFile:
    """One ``<data>`` record of repomd.xml."""

    type: str
    href: str
    checksum_type: str
    checksum: str
    open_checksum_type: Optional[str] = None
    open_checksum: Optional[str] = None
    size: Optional[int] = None
    open_size: Optional[int] = None
    base: Optional[str] = None  # <location xml:base=...>: download from there (URLs only)


@dataclass(frozen=True)
class Repomd:
    """Parsed repomd.xml: its revision, its own sha256 and its metadata files by type."""

    revision: Optional[str]
    sha256: str
    files: Dict[str, MetadataFile]

    def require(self, kind: str, where: str) -> MetadataFile:
        meta = self.files.get(kind)
        if meta is None:
            raise RepoError("%s: repodata/repomd.xml lists no %s metadata" % (where, kind))
        return meta


@dataclass(frozen=True)
class RepoData:
    """What one repository offers: `packages` rows in primary.xml order."""

    url: str
    revision: Optional[str]
    repomd_sha256: str
    packages: List[PackageRow]


def _int_or_none(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def safe_href(href: str, where: str) -> str:
    """A location href as a safe relative path: metadata stays inside the repository
    (and inside the cache entry that mirrors it)."""
    parts = href.split("/")
    if not href or href.startswith("/") or "\\" in href or any(p in ("", ".", "..") for p in parts):
        raise RepoError("%s: repodata/repomd.xml: unsafe location href %r" % (where, href))
    return href


def parse_repomd(data: bytes, where: str) -> Repomd:
    """Parse repomd.xml bytes; `where` (the repository) prefixes every error."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise RepoError("%s: repodata/repomd.xml is malformed XML: %s" % (where, exc)) from None
    if root.tag != REPO_NS + "repomd":
        raise RepoError("%s: repodata/repomd.xml is not repository metadata (root element <%s>)"
                        % (where, root.tag.rpartition("}")[2]))
    files = {}
    for data_el in root.iter(REPO_NS + "data"):
        kind = data_el.get("type")
        location = data_el.find(REPO_NS + "location")
        checksum = data_el.find(REPO_NS + "checksum")
        if not kind or location is None or checksum is None or not (checksum.text or "").strip():
            raise RepoError("%s: repodata/repomd.xml: <data type=%r> lacks a location or checksum"
                            % (where, kind))
        ctype = checksum.get("type", "")
        if ctype not in CHECKSUM_TYPES:
            raise RepoError("%s: repodata/repomd.xml: unsupported checksum type %r for %s"
                            % (where, ctype, kind))
        open_el = data_el.find(REPO_NS + "open-checksum")
        files[kind] = MetadataFile(
            type=kind,
            href=safe_href(location.get("href", ""), where),
            checksum_type=ctype,
            checksum=checksum.text.strip().lower(),
            open_checksum_type=open_el.get("type") if open_el is not None else None,
            open_checksum=(open_el.text or "").strip().lower() if open_el is not None else None,
            size=_int_or_none(data_el.findtext(REPO_NS + "size")),
            open_size=_int_or_none(data_el.findtext(REPO_NS + "open-size")),
            base=location.get(XML_BASE),
        )
    revision = root.findtext(REPO_NS + "revision")
    return Repomd(revision=revision.strip() if revision else None, sha256=sha, files=files)


def read_repomd(directory: str, where: str) -> Repomd:
    path = os.path.join(directory, "repodata", "repomd.xml")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_REPOMD_BYTES + 1)
    except FileNotFoundError:
        raise RepoError("%s: not a repository: repodata/repomd.xml not found" % where) from None
    except OSError as exc:
        raise RepoError("%s: cannot read repodata/repomd.xml: %s" % (where, exc.strerror or exc)) from None
    if len(data) > MAX_REPOMD_BYTES:
        raise RepoError("%s: repodata/repomd.xml is larger than %d bytes" % (where, MAX_REPOMD_BYTES))
    return parse_repomd(data, where)


def file_digest(path: str, checksum_type: str) -> Tuple[str, int]:
    """Hex digest (of the repomd.xml checksum type) and size of a file, read in chunks."""
    digest = hashlib.new(CHECKSUM_TYPES[checksum_type])
    size = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def mismatch_message(meta: MetadataFile, got: str, size: int) -> str:
    text = "checksum mismatch: expected %s %s, got %s" % (meta.checksum_type, meta.checksum, got)
    if meta.size is not None and meta.size != size:
        text += " (%d bytes, repomd.xml says %d)" % (size, meta.size)
    return text


def verify_file(directory: str, meta: MetadataFile, where: str) -> str:
    """Path of `meta`'s file after checking it against repomd.xml's checksum."""
    path = os.path.join(directory, meta.href)
    try:
        got, size = file_digest(path, meta.checksum_type)
    except FileNotFoundError:
        raise RepoError("%s: %s metadata %s is missing (listed in repodata/repomd.xml)"
                        % (where, meta.type, meta.href)) from None
    except OSError as exc:
        raise RepoError("%s: cannot read %s: %s" % (where, meta.href, exc.strerror or exc)) from None
    if got != meta.checksum:
        raise RepoError("%s: %s: %s" % (where, meta.href, mismatch_message(meta, got, size)))
    return path


# -- decompression -----------------------------------------------------------------------

_MAGIC = ((b"\x1f\x8b", "gz"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zst"))
_EXTENSIONS = {".gz": "gz", ".xz": "xz", ".bz2": "bz2", ".zst": "zst", ".zstd": "zst", ".xml": "xml"}


def compression_of(path: str, head: bytes) -> str:
    """'gz', 'xz', 'bz2', 'zst' or 'xml', by magic bytes first, then by extension.

    Magic wins because it cannot lie; the extension only names what a file that
    matches no magic was meant to be, so a corrupt one is reported as such."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower(), "xml")


class _Limited:
    """A read-only stream that stops with an error past `limit` decompressed bytes.

    repomd.xml's open-size is the decompressed size; a stream much larger than that
    is a decompression bomb or a wrong file, not metadata worth parsing."""

    def __init__(self, inner: BinaryIO, limit: Optional[int]):
        self.inner, self.limit, self.count = inner, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise _TooLarge(self.limit)
        return data


class _TooLarge(Exception):
    pass


def open_decompressed(raw: BinaryIO, kind: str) -> BinaryIO:
    """A stream of the decompressed bytes of `raw`; nothing is read in advance."""
    if kind == "gz":
        import gzip
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "xz":
        import lzma
        return lzma.LZMAFile(raw, "rb")
    if kind == "bz2":
        import bz2
        return bz2.BZ2File(raw, "rb")
    if kind == "zst":
        return _ZstdStream(raw)
    return raw


class _ZstdStream:
    """zstd decompression as a read() stream that, unlike zstandard's stream_reader,
    reports a stream cut inside a frame (a truncated file) instead of ending quietly."""

    def __init__(self, raw: BinaryIO):
        import zstandard
        self._new = zstandard.ZstdDecompressor().decompressobj
        self._raw, self._obj, self._started = raw, self._new(), False
        self._buffer, self._pos = b"", 0  # an offset, not re-slicing: output comes in MiBs

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._buffer):
            self._buffer, self._pos = b"", 0
        while not self._buffer:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                if self._started and not self._obj.eof:
                    raise EOFError("zstd stream ended inside a frame")
                return b""
            while chunk:
                if self._obj.eof:  # concatenated frames: a new decompressor per frame
                    self._obj = self._new()
                self._started = True
                self._buffer += self._obj.decompress(chunk)
                chunk = self._obj.unused_data if self._obj.eof else b""
        end = len(self._buffer) if size is None or size < 0 else self._pos + size
        data = self._buffer[self._pos:end]
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._raw.close()


def _decompress_errors() -> tuple:
    import lzma
    import zlib
    errors = [EOFError, OSError, zlib.error, lzma.LZMAError]
    try:
        import zstandard
        errors.append(zstandard.ZstdError)
    except ImportError:  # only needed for zstd files; open_decompressed reports it then
        pass
    return tuple(errors)


def _parse_stream(directory: str, meta: MetadataFile, where: str, handler) -> None:
    """Verify, decompress and stream `meta`'s XML into `handler(iterparse_context)`;
    turn every failure into one RepoError line."""
    path = verify_file(directory, meta, where)
    # open-size bounds the decompressed stream (slack for repos that round it wrongly).
    limit = meta.open_size * 2 + (1 << 20) if meta.open_size is not None else None
    with open(path, "rb") as raw:
        kind = compression_of(path, raw.read(8))
        raw.seek(0)
        try:
            stream = open_decompressed(raw, kind)
        except ImportError as exc:
            raise RepoError("%s: %s is %s-compressed, which needs the Python module %s"
                            % (where, meta.href, kind, exc.name)) from None
        try:
            handler(ET.iterparse(_Limited(stream, limit), events=("end",)))
        except ET.ParseError as exc:
            line, col = exc.position
            raise RepoError("%s: %s: malformed XML at line %d column %d: %s"
                            % (where, meta.href, line, col, str(exc).split(":")[0])) from None
        except _TooLarge:
            raise RepoError("%s: %s: decompresses to more than %d bytes (repomd.xml open-size %d)"
                            % (where, meta.href, limit, meta.open_size)) from None
        except EOFError as exc:
            raise RepoError("%s: %s: truncated %s data (%s)" % (where, meta.href, kind, exc)) from None
        except _decompress_errors() as exc:
            raise RepoError("%s: %s: corrupt %s data (%s)" % (where, meta.href, kind, exc)) from None
        finally:
            if stream is not raw:
                stream.close()


# -- primary.xml and filelists.xml ---------------------------------------------------------

def format_provide(entry: ET.Element) -> str:
    """One ``<rpm:entry>`` as dnf prints a provide: ``name``, ``name = [E:]V[-R]``."""
    name = entry.get("name", "")
    flags = entry.get("flags")
    if not flags:
        return name
    ver = entry.get("ver") or ""
    epoch = entry.get("epoch")
    evr = ("%s:%s" % (epoch, ver) if epoch and epoch != "0" else ver)
    rel = entry.get("rel")
    if rel:
        evr += "-" + rel
    return "%s %s %s" % (name, _FLAGS.get(flags, flags), evr)


_P_PACKAGE = COMMON_NS + "package"
_P_NAME = COMMON_NS + "name"
_P_ARCH = COMMON_NS + "arch"
_P_VERSION = COMMON_NS + "version"
_P_CHECKSUM = COMMON_NS + "checksum"
_P_PROVIDES = COMMON_NS + "format/" + RPM_NS + "provides/" + RPM_NS + "entry"
_F_PACKAGE = FILELISTS_NS + "package"
_F_FILE = FILELISTS_NS + "file"


def _read_primary(directory: str, meta: MetadataFile, where: str
                  ) -> Tuple[List[list], Dict[str, int]]:
    rows: List[list] = []
    by_pkgid: Dict[str, int] = {}

    def handle(context) -> None:
        for _event, elem in context:
            if elem.tag != _P_PACKAGE:
                continue
            ver = elem.find(_P_VERSION)
            name = elem.findtext(_P_NAME)
            pkgid = elem.findtext(_P_CHECKSUM)
            if ver is None or not name or not pkgid:
                raise RepoError("%s: %s: package #%d lacks a name, version or checksum"
                                % (where, meta.href, len(rows) + 1))
            try:
                epoch = int(ver.get("epoch") or 0)
            except ValueError:
                raise RepoError("%s: %s: package %s has a non-numeric epoch %r"
                                % (where, meta.href, name, ver.get("epoch"))) from None
            provides = tuple(format_provide(e) for e in elem.iterfind(_P_PROVIDES))
            by_pkgid[pkgid.strip()] = len(rows)
            rows.append([name, epoch, ver.get("ver") or "", ver.get("rel") or "",
                         elem.findtext(_P_ARCH) or "", provides, ()])
            # A read package is emptied at once: memory holds rows, not the document.
            # (The empty element stays in the root, ~100 bytes: "end" events never
            # hand over the root, and asking for "start" events too costs 40% more.)
            elem.clear()

    _parse_stream(directory, meta, where, handle)
    return rows, by_pkgid


def _read_filelists(directory: str, meta: MetadataFile, where: str, rows: List[list],
                    by_pkgid: Dict[str, int]) -> None:
    def handle(context) -> None:
        modules: List[str] = []
        for _event, elem in context:
            tag = elem.tag
            if tag == _F_FILE:
                text = elem.text
                # Cheap substring test first: 200,000 files, a few thousand modules.
                if text and ".ko" in text and text.endswith(MODULE_SUFFIXES) and elem.get("type") != "dir":
                    modules.append(text)
            elif tag == _F_PACKAGE:
                if modules:
                    pkgid = elem.get("pkgid", "")
                    index = by_pkgid.get(pkgid)
                    if index is None:
                        raise RepoError("%s: %s: package %s (pkgid %s) is not in primary metadata"
                                        % (where, meta.href, elem.get("name"), pkgid))
                    rows[index][6] = tuple(sorted(modules))
                    modules = []
                elem.clear()

    _parse_stream(directory, meta, where, handle)


def read_repo(directory: str, url: Optional[str] = None) -> RepoData:
    """Read the repository in `directory` (a plain directory or a fetch cache entry).

    `url` is what the user named (recorded in snapshots, used in error messages);
    it defaults to the directory."""
    where = url or directory
    repomd = read_repomd(directory, where)
    primary = repomd.require("primary", where)
    filelists = repomd.require("filelists", where)
    rows, by_pkgid = _read_primary(directory, primary, where)
    _read_filelists(directory, filelists, where, rows, by_pkgid)
    return RepoData(url=where, revision=repomd.revision, repomd_sha256=repomd.sha256,
                    packages=[tuple(row) for row in rows])  # type: ignore[misc]
