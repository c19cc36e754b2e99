"""Install a host's packages with real dnf, one transaction at a time.

For a HostSpec with `transactions`, the built packages are laid out as one
createrepo_c repository per repo id, and each transaction is one

    dnf -y --installroot=ROOT --config=PRIVATE.conf --releasever=N
        --setopt=reposdir=EMPTY_DIR --setopt=install_weak_deps=False
        --noplugins --nogpgcheck
        --repofrompath=ID,file:///.../ID --repo=ID  install NEVRA...

(or `install /path/to/x.rpm ...` for "@commandline"), so dnf writes
ROOT/var/lib/dnf/history.sqlite with the repo id of every package, exactly as
on a host whose admin ran those commands. Nothing outside the root is used:
--config is a private file and reposdir an empty private directory, and dnf
runs with a private HOME whose .rpmmacros says `%_dbpath /var/lib/rpm`
(Debian's rpm otherwise keeps its database in ~/.rpmdb, i.e. ROOT/root/.rpmdb,
and dnf would see an empty rpmdb). cachedir, logdir and persistdir are set in
that config file: dnf prefixes values read from the config with the
installroot (ROOT/var/cache/dnf, ...), but a `--setopt=cachedir=` given on the
command line is applied after that and would put the metadata cache into the
build machine's own /var/cache/dnf. The cache is removed afterwards; the
history database is left in rollback-journal mode (no -wal/-shm), so a
read-only reader sees all of it.
"""

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Dict, List

from .model import COMMANDLINE, HostSpec, Pkg
from .tools import ToolError, run, which

HISTORY = "var/lib/dnf/history.sqlite"


def _repo_dirs(spec: HostSpec, built: Dict[str, Path], work: Path) -> Dict[str, Path]:
    members: Dict[str, List[Pkg]] = {}
    for txn in spec.transactions:
        if txn.repo != COMMANDLINE:
            members.setdefault(txn.repo, []).extend(spec.transaction_package(r) for r in txn.packages)
    dirs = {}
    for index, (repo_id, pkgs) in enumerate(sorted(members.items())):
        repo = work / "repos" / ("%02d" % index)
        (repo / "Packages").mkdir(parents=True)
        for pkg in pkgs:
            src = built[pkg.nevra]
            shutil.copyfile(src, repo / "Packages" / src.name)
        run([which("createrepo_c"), "--quiet", "--no-database", str(repo)])
        dirs[repo_id] = repo
    return dirs


def install(root: Path, spec: HostSpec, built: Dict[str, Path]) -> None:
    """Run the spec's transactions into `root` (already laid out, absolute)."""
    root = Path(root)
    if not root.is_absolute():
        raise ValueError("root must be absolute: %s" % root)
    work = Path(tempfile.mkdtemp(prefix="hostbuild-dnf-"))
    try:
        home = work / "home"
        home.mkdir()
        (home / ".rpmmacros").write_text("%_dbpath /var/lib/rpm\n%_db_backend sqlite\n")
        (work / "dnf.conf").write_text("[main]\ncachedir=/var/cache/dnf\nlogdir=/var/log\n"
                                       "persistdir=/var/lib/dnf\n")
        (work / "no-repos").mkdir()
        repos = _repo_dirs(spec, built, work)
        base = [which("dnf"), "-y", "-q", "--installroot=%s" % root, "--config=%s" % (work / "dnf.conf"),
                "--releasever=%s" % spec.releasever, "--setopt=reposdir=%s" % (work / "no-repos"),
                "--setopt=install_weak_deps=False",
                "--noplugins", "--nogpgcheck"]
        for txn in spec.transactions:
            pkgs = [spec.transaction_package(ref) for ref in txn.packages]
            if txn.repo == COMMANDLINE:
                argv = base + ["install"] + [str(built[p.nevra]) for p in pkgs]
            else:
                argv = base + ["--repofrompath=%s,%s" % (txn.repo, repos[txn.repo].as_uri()),
                               "--repo=%s" % txn.repo, "install"] + [p.nevra for p in pkgs]
            run(argv, env={"HOME": str(home)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(root / "var/cache/dnf", ignore_errors=True)
    finalize_history(root)


def finalize_history(root: Path) -> None:
    """Checkpoint dnf's history database and leave it in journal_mode=DELETE."""
    db = Path(root) / HISTORY
    if not db.exists():
        raise ToolError("dnf wrote no %s" % db)
    con = sqlite3.connect(str(db))
    try:
        mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    finally:
        con.close()
    if mode != "delete":
        raise ToolError("could not switch %s to journal_mode=DELETE (%s)" % (db, mode))
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def history_origins(root: Path) -> Dict[str, str]:
    """NEVRA (epoch only when not 0) -> repo id, as dnf recorded the installs (for tests)."""
    con = sqlite3.connect("file:%s?mode=ro&immutable=1" % (Path(root) / HISTORY), uri=True)
    try:
        rows = con.execute("SELECT r.name, r.epoch, r.version, r.release, r.arch, repo.repoid "
                           "FROM trans_item ti JOIN rpm r ON r.item_id = ti.item_id "
                           "JOIN repo ON repo.id = ti.repo_id ORDER BY ti.id").fetchall()
    finally:
        con.close()
    return {"%s-%s%s-%s.%s" % (n, "%d:" % e if e else "", v, r, a): repo for n, e, v, r, a, repo in rows}
