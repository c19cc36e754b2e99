"""Turn a root's sqlite rpmdb into a Berkeley DB rpmdb like real EL7/EL8 hosts.

Real CentOS 7/8 hosts keep `/var/lib/rpm/Packages` (Berkeley DB hash: key =
header instance as a 4-byte native-endian uint32, value = the header blob; key 0
holds the highest instance number) plus one index database per indexed tag
(`Name`, `Basenames`, `Providename`, `Dirnames`, `Sha1header`, ...; key = tag
value, value = (instance, index) uint32 pairs).

What Debian's rpm 4.18 needs from it (it can only *read* BDB, backend
`bdb_ro`, lib/backend/bdb_ro.c): `Packages` alone is enough for `rpm -qa` and
`ts.dbMatch()` without arguments, but `rpm -q NAME`, `rpm -qf FILE`,
`rpm -q --whatprovides` and `ts.dbMatch("name", ...)` go through the index
databases and report "not installed" when those are missing; every missing
index also prints "warning: could not open .../Name". So every index table of
the sqlite db is converted too (empty ones become empty hash databases).

Reading it back: rpm auto-detects the backend, but then warns "Found bdb_ro
Packages database while attempting sqlite backend"; pass
`--define '_db_backend bdb_ro'` (CLI) or `rpm.addMacro("_db_backend", "bdb_ro")`
(Python, before creating the TransactionSet) to read it silently. The database
is read-only: `rpm -i/-e` and `rpmdb --rebuilddb` into the same path need a
conversion first (`rpmdb --root R --dbpath /var/lib/rpm --rebuilddb` rewrites it
as sqlite). The collector on a real EL host just uses the host's own rpm.

Built with `db5.3_load` (Debian package db5.3-util) from "bytevalue" dump input.
"""

import sqlite3
import struct
from pathlib import Path
from typing import Iterable, List, Tuple

from .tools import run, which

HASH_MAGIC = 0x00061561
BTREE_MAGIC = 0x00053162


def _dump(pairs: Iterable[Tuple[bytes, bytes]]) -> bytes:
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=4096", "HEADER=END"]
    for key, value in pairs:
        lines.append(" " + key.hex())
        lines.append(" " + value.hex())
    lines.append("DATA=END")
    return ("\n".join(lines) + "\n").encode("ascii")


def _load(path: Path, pairs: Iterable[Tuple[bytes, bytes]]) -> None:
    run([which("db5.3_load", "db_load"), str(path)], input=_dump(pairs))


def convert(root: Path, dbpath: str = "/var/lib/rpm") -> List[str]:
    """Replace ROOT/dbpath/rpmdb.sqlite by Berkeley DB files; returns their names."""
    dbdir = Path(root) / dbpath.lstrip("/")
    sqlite_file = dbdir / "rpmdb.sqlite"
    con = sqlite3.connect("file:%s?mode=ro" % sqlite_file, uri=True)
    written = []
    try:
        rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
        top = max((h for h, _ in rows), default=0)
        pairs = [(struct.pack("=I", 0), struct.pack("=I", top))]
        pairs += [(struct.pack("=I", h), bytes(b)) for h, b in rows]
        tmp_dir = dbdir / ".bdb-new"
        tmp_dir.mkdir()
        _load(tmp_dir / "Packages", pairs)
        written.append("Packages")
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' "
            "AND name NOT IN ('Packages', 'sqlite_sequence', 'sqlite_stat1')")]
        for table in tables:
            index = {}
            for key, hnum, idx in con.execute(
                    "SELECT key, hnum, idx FROM '%s' ORDER BY rowid" % table.replace("'", "''")):
                kb = key if isinstance(key, bytes) else str(key).encode("utf-8")
                index[kb] = index.get(kb, b"") + struct.pack("=II", hnum, idx)
            _load(tmp_dir / table, sorted(index.items()))
            written.append(table)
    finally:
        con.close()
    for name in ("rpmdb.sqlite", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"):
        (dbdir / name).unlink(missing_ok=True)
    for name in written:
        (tmp_dir / name).rename(dbdir / name)
    tmp_dir.rmdir()
    return written


def is_berkeley_db(path: Path) -> bool:
    """True if `path` starts with a Berkeley DB hash or btree meta page."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if len(head) < 16:
        return False
    magic_le = struct.unpack("<I", head[12:16])[0]
    magic_be = struct.unpack(">I", head[12:16])[0]
    return HASH_MAGIC in (magic_le, magic_be) or BTREE_MAGIC in (magic_le, magic_be)
