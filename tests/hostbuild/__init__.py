"""Real test hosts for `migrate`: RPMs built with rpmbuild, installed with rpm --root.

No mocks: every host is a directory tree with a real rpmdb written by rpm
(sqlite) or converted to Berkeley DB (bdb.py, like real EL7/EL8 hosts).

API
    Pkg, HostSpec, Symlink          declarative specs (model.py)
    Transaction                     one dnf transaction (repo id, packages) of a
                                    HostSpec: installed by real dnf (dnfinstall.py)
    build_host(spec) -> BuiltHost   build or reuse a cached host root
    get_host(name) -> BuiltHost     a named host from tests/hosts/
    build_repo(pkgs) -> Path        a createrepo_c repository of built packages
    synthetic_host(n, ...)          a HostSpec with n realistic-looking packages
    prune_cache()                   drop cache entries of older builder versions

BuiltHost: .root (absolute Path), .rpms_dir, .keys (label -> 16-hex key id),
.spec, .path (cache entry), .cache_hit, .rpm(*args) (runs rpm on the root with
the right --dbpath/--define).

Reading a built root with the host tools:

    rpm --root ROOT --dbpath /var/lib/rpm -qa
    rpm --root ROOT --dbpath /var/lib/rpm --define '_db_backend bdb_ro' -qa    # bdb hosts
    /usr/bin/python3 -c 'import rpm; rpm.addMacro("_dbpath", "/var/lib/rpm");
        rpm.addMacro("_db_backend", "bdb_ro");   # bdb hosts only (else a warning)
        ts = rpm.TransactionSet(ROOT); print(len(list(ts.dbMatch())))'

Without --dbpath Debian's rpm silently reads ~/.rpmdb (ROOT/root/.rpmdb) and
sees 0 packages; without _db_backend on a bdb root it auto-detects bdb_ro but
prints "Found bdb_ro Packages database while attempting sqlite backend".

Needs (Debian 12): rpm (rpm, rpmbuild, rpmsign), createrepo-c, gnupg (gpg,
gpgconf), dnf (only for hosts with transactions), db5.3-util (db5.3_load,
only for bdb hosts), python3-rpm for the Python-binding checks. Cache: $MIGRATE_TEST_CACHE or tests/.cache/.
"""

import importlib

from .builder import BuiltHost, build_host, build_repo, built_path, repo_keys
from .cache import prune as prune_cache
from .model import COMMANDLINE, HostSpec, Pkg, Symlink, Transaction, parse_nevra
from .synthetic import synthetic_host, synthetic_packages

__all__ = ["BuiltHost", "COMMANDLINE", "HostSpec", "Pkg", "Symlink", "Transaction", "build_host", "build_repo",
           "built_path", "get_host", "host_spec", "host_names", "parse_nevra", "prune_cache", "repo_keys", "synthetic_host",
           "synthetic_packages"]


def _hosts_module():
    parent = __name__.rpartition(".")[0]
    return importlib.import_module(parent + ".hosts" if parent else "hosts")


def host_names():
    return sorted(_hosts_module().HOSTS)


def host_spec(name: str) -> HostSpec:
    """The HostSpec of a named host (see tests/hosts/)."""
    hosts = _hosts_module().HOSTS
    if name not in hosts:
        raise KeyError("unknown host %r (known: %s)" % (name, ", ".join(sorted(hosts))))
    return hosts[name]()


def get_host(name: str) -> BuiltHost:
    """Build (first time) or reuse (cached) the named host."""
    return build_host(host_spec(name))
