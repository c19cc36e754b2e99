"""Detects package-manager locks: another yum/dnf at work, or a lock nobody can vouch for.

Why it matters: the swap needs the rpm database and dnf's caches to itself. A
lock held by a running process (an unattended update, a configuration
management run) makes the swap wait or fail, and two transactions must never
interleave. A lock whose process is gone is harmless (yum and dnf take over
stale locks) and is only reported. In an offline root nobody can tell whether
the recorded process runs on the real host.

Facts: pkgmgr.locks (path, pid, alive).
Manifest keys: none.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def unique_locks(facts: Facts):
    """The collector reads /var/run/yum.pid and /run/yum.pid; on EL7+ /var/run is a symlink to
    /run (filesystem package), so one lock file can be listed twice: keep the /run one."""
    seen = {}
    for lock in facts.pkgmgr.locks:
        path = "/run/" + lock.path[len("/var/run/"):] if lock.path.startswith("/var/run/") else lock.path
        key = (path, lock.pid)
        if key not in seen or seen[key].path.startswith("/var/run/"):
            seen[key] = lock
    return list(seen.values())


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    locks = unique_locks(facts)
    held = [lock for lock in locks if lock.alive is True]
    stale = [lock for lock in locks if lock.alive is False]
    unknown = [lock for lock in locks if lock.alive is None]

    def describe(locks):
        return ", ".join("%s (pid %s)" % (lock.path, lock.pid if lock.pid is not None else "unreadable")
                         for lock in locks)

    findings = []
    if held:
        findings.append(Finding(
            id="system.pkgmgr_lock_held", severity="blocker", overridable=False,
            title="A package manager is running",
            summary="%s: the process holding the lock is alive. The swap must not run beside "
                    "another transaction." % describe(held),
            subjects=tuple(lock.path for lock in held),
            remediation=Remediation(
                hint="Let it finish (or stop the automation that started it), then assess again.",
                commands=tuple(("ps", "-o", "pid,etime,args", "-p", str(lock.pid))
                               for lock in held if lock.pid is not None) or (("ps", "-C", "yum,dnf,rpm"),)),
        ))
    if unknown:
        findings.append(Finding(
            id="system.pkgmgr_lock_unknown", severity="warning", overridable=True,
            title="Package-manager lock files whose holder cannot be checked",
            summary="%s. %s" % (describe(unknown), "This is an offline root: whether the process runs "
                                "on the real host is unknown." if facts.root else
                                "The lock file names no readable process id."),
            subjects=tuple(lock.path for lock in unknown),
            remediation=Remediation(hint="On the host, check that no yum/dnf/rpm runs before the swap.",
                                    commands=(("ps", "-C", "yum,dnf,rpm", "-o", "pid,args"),)),
        ))
    if stale:
        findings.append(Finding(
            id="system.pkgmgr_lock_stale", severity="info",
            title="Stale package-manager lock files",
            summary="%s: the recorded process no longer runs; yum and dnf take over such locks."
                    % describe(stale),
            subjects=tuple(lock.path for lock in stale),
        ))
    return findings


CHECK = Check(
    id="system.pkgmgr_locks",
    title="No other package-manager transaction holds the locks",
    category="system",
    run=run,
    requires=("pkgmgr.locks",),
    description=__doc__,
)
