"""Lay out a host root like EL and install packages into it with rpm.

The root gets the merged-/usr symlinks EL7/EL8 have (`bin -> usr/bin`,
`sbin -> usr/sbin`, `lib -> usr/lib`, `lib64 -> usr/lib64`) before anything is
installed, then all packages go in with one

    rpm --root ROOT --dbpath /var/lib/rpm -i --nodeps --noscripts --notriggers
        --force-debian --nosignature --ignorearch --ignoreos --noplugins ...

(the root is always absolute and --dbpath always given: without it Debian's rpm
uses ~/.rpmdb, i.e. ROOT/root/.rpmdb, and silently sees 0 packages). Plain
files that no package owns are written afterwards.

rpm leaves its sqlite rpmdb in WAL mode, and then every later *reader* (rpm -qa,
the Python bindings) rewrites rpmdb.sqlite-shm. `finalize_sqlite()` switches the
finished database to journal_mode=DELETE, so reading a built root changes no
file in it, as with a read-only assessment of a real host.
"""

import os
import sqlite3
from pathlib import Path
from typing import Dict, Iterable, List

from .model import Content, Symlink, content_bytes
from .tools import ToolError, run, which

DBPATH = "/var/lib/rpm"
EL_SYMLINKS = (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"))


def rpm_base(root: Path) -> List[str]:
    root = Path(root)
    if not root.is_absolute():
        raise ValueError("root must be absolute: %s" % root)
    return [which("rpm"), "--root", str(root), "--dbpath", DBPATH]


def layout(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for link, target in EL_SYMLINKS:
        (root / target).mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / link)
    for d in ("etc", "var/lib/rpm", "proc", "sys", "dev", "run", "tmp", "root", "boot"):
        (root / d).mkdir(parents=True, exist_ok=True)


def install(root: Path, rpm_files: Iterable[Path]) -> None:
    files = [str(f) for f in rpm_files]
    if not files:
        return
    run(rpm_base(root) + ["--define", "_db_backend sqlite", "-i", "--nodeps", "--noscripts",
                          "--notriggers", "--force-debian", "--nosignature", "--ignorearch",
                          "--ignoreos", "--noplugins"] + files)
    check_no_stray_rpmdb(root)


def import_keys(root: Path, pubkeys: Iterable[Path]) -> None:
    for key in pubkeys:
        run(rpm_base(root) + ["--define", "_db_backend sqlite", "--noplugins", "--import", str(key)])
    check_no_stray_rpmdb(root)


def finalize_sqlite(root: Path) -> None:
    """Checkpoint the rpmdb and leave it in rollback-journal mode (no -wal/-shm)."""
    dbfile = Path(root) / DBPATH.lstrip("/") / "rpmdb.sqlite"
    con = sqlite3.connect(str(dbfile))
    try:
        mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    finally:
        con.close()
    if mode != "delete":
        raise ToolError("could not switch %s to journal_mode=DELETE (%s)" % (dbfile, mode))
    for suffix in ("-wal", "-shm"):
        Path(str(dbfile) + suffix).unlink(missing_ok=True)


def write_files(root: Path, files: Dict[str, Content]) -> None:
    """Write plain (unowned) files; parent dirs are created, symlinks allowed."""
    for path, content in sorted(files.items()):
        rel = path.lstrip("/")
        if not rel or ".." in Path(rel).parts:
            raise ValueError("bad host file path %r" % path)
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        if isinstance(content, Symlink):
            os.symlink(content.target, dest)
        else:
            dest.write_bytes(content_bytes(content))


def check_no_stray_rpmdb(root: Path) -> None:
    stray = Path(root) / "root" / ".rpmdb"
    if stray.exists():
        raise ToolError("rpm wrote %s: a call lacked --dbpath" % stray)


def query(root: Path, *args: str, backend: str = "") -> str:
    """`rpm --root ROOT --dbpath /var/lib/rpm ARGS`; backend e.g. "bdb_ro"."""
    argv = rpm_base(root)
    if backend:
        argv += ["--define", "_db_backend %s" % backend]
    return run(argv + list(args)).stdout.decode("utf-8", "replace")
