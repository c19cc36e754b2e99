"""Detects an rpm database that the swap cannot rely on.

Why it matters: the swap is one long rpm transaction; rpm must read and write
a consistent database all the way through. Three states break that:
- the collector could not read the database (rpm failed or hung);
- Berkeley DB environment files (__db.001, ...) are left in the rpmdb
  directory while no package manager runs: rpm or yum was killed mid-work (or
  EL7's rpm kept them), and a stale environment can stop rpm with
  DB_RUNRECOVERY in the middle of the swap;
- both a Berkeley DB (Packages) and an sqlite (rpmdb.sqlite) database are
  present: a half-finished conversion, where rpm and the tools around it may
  read different package lists.

Facts: packages (probe status), pkgmgr.rpmdb_path, pkgmgr.rpmdb_files,
pkgmgr.locks (alive).
Manifest keys: none.
"""
from __future__ import annotations

import re
from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

BDB_ENV = re.compile(r"^__db\.\d+$")


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    probe = facts.probe("packages")
    if probe.status == "denied":
        raise MissingFacts("the rpmdb could not be read with the collector's privileges: " + probe.message)
    if probe.status == "absent":
        raise MissingFacts("no rpm database to check: " + probe.message)
    findings = []
    if probe.failed:
        findings.append(Finding(
            id="system.rpmdb_unreadable", severity="blocker", overridable=False,
            title="The rpm database could not be read (%s)" % probe.status,
            summary="Reading the installed packages failed: %s. A database rpm cannot read now will "
                    "not carry a transaction of hundreds of packages." % probe.message,
            remediation=Remediation(
                hint="Back up /var/lib/rpm, check for hung rpm/yum/dnf processes, then rebuild the "
                     "database and assess again.",
                commands=(("ps", "-C", "rpm,yum,dnf", "-o", "pid,args"),
                          ("cp", "-a", "/var/lib/rpm", "/var/lib/rpm.backup"), ("rpm", "--rebuilddb"))),
        ))
    files = facts.pkgmgr.rpmdb_files
    if files is None:
        return findings
    dbpath = facts.pkgmgr.rpmdb_path or "/var/lib/rpm"
    env = sorted(f for f in files if BDB_ENV.match(f))
    busy = [lock for lock in facts.pkgmgr.locks if lock.alive]
    if env and not busy:
        findings.append(Finding(
            id="system.rpmdb_stale_environment", severity="warning", overridable=True,
            title="Berkeley DB environment files are left in %s" % dbpath,
            summary="%s hold%s no running package manager's state (no live package-manager lock). "
                    "They are left behind when rpm or yum is killed mid-work (EL7's rpm also keeps "
                    "them between runs); a stale environment can stop rpm with DB_RUNRECOVERY during "
                    "the swap. Removing them and rebuilding the database first is cheap."
                    % (", ".join(env), "s" if len(env) == 1 else ""),
            subjects=tuple("%s/%s" % (dbpath, f) for f in env),
            remediation=Remediation(
                hint="With no rpm, yum or dnf running: remove the environment files and rebuild.",
                commands=(("rm", "-f") + tuple("%s/%s" % (dbpath, f) for f in env),
                          ("rpm", "--rebuilddb"))),
        ))
    if "Packages" in files and "rpmdb.sqlite" in files:
        findings.append(Finding(
            id="system.rpmdb_multiple_backends", severity="blocker", overridable=True,
            title="Both a Berkeley DB and an sqlite rpm database are in %s" % dbpath,
            summary="%s holds both Packages (Berkeley DB) and rpmdb.sqlite. rpm reads the one its "
                    "_db_backend names; the other is a leftover of a conversion and may list different "
                    "packages, so what the swap replaces depends on which tool reads which." % dbpath,
            subjects=("%s/Packages" % dbpath, "%s/rpmdb.sqlite" % dbpath),
            remediation=Remediation(
                hint="Find the backend rpm uses, back up the directory, move the other database out "
                     "of it and rebuild.",
                commands=(("rpm", "-E", "%{_db_backend}"), ("cp", "-a", dbpath, dbpath + ".backup"),
                          ("rpm", "--rebuilddb"))),
        ))
    return findings


CHECK = Check(
    id="system.rpmdb",
    title="The rpm database is readable and consistent",
    category="system",
    run=run,
    description=__doc__,
)
