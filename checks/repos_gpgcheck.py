"""Detects enabled repositories whose packages are installed without checking
their signatures (gpgcheck off).

Why it matters on the target: with gpgcheck=0, dnf installs whatever the
repository (or anyone between it and the host) serves. During the migration
those repositories stay enabled and distro-sync pulls from them unverified;
on the target the same repository definition carries the same hole, which a
bank's security baseline does not allow. The effective value is the
repository's own gpgcheck, else [main] gpgcheck of dnf.conf/yum.conf, else
dnf's and yum's built-in default, which is off.

The repos probe is required in part: "absent" (no repository defined) makes
the check not applicable; a failed probe skips it.

Facts: repos (id, file, enabled, gpgcheck, gpgkey; main [main] options),
os.os_release and os.release_files (source major for the command).
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.checks.repos_classification import enabled_repos
from migrate.engine import Check
from migrate.collector import parse_bool
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

def main_gpgcheck(facts: Facts):
    """[main] gpgcheck as a bool, or None when the main config does not set it (or says
    something that is not a boolean): the collector's own rule for .repo options."""
    return parse_bool((facts.repos.main or {}).get("gpgcheck"), None)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    repos = enabled_repos(facts)
    default = main_gpgcheck(facts)
    off = []
    for repo in repos:
        effective = repo.gpgcheck if repo.gpgcheck is not None else default
        if not effective:
            why = "gpgcheck=0" if repo.gpgcheck is False else (
                "gpgcheck=0 in [main]" if default is False else "gpgcheck set nowhere (default off)")
            off.append((repo, why))
    if not off:
        return []
    ids = tuple(r.id for r, _ in off)
    source = identify_source(facts)
    tool = ("yum-config-manager",) if source and source.major == 7 else ("dnf", "config-manager")
    return [Finding(
        id="repos.gpgcheck_disabled", severity="warning", overridable=True,
        title="%d enabled repositories install packages without checking signatures" % len(ids),
        summary="%s. Packages from them are installed unverified, during the migration and afterwards "
                "on %s." % ("; ".join("%s (%s, %s%s)" % (r.id, r.file or "main config", why,
                                                         "" if r.gpgkey else ", no gpgkey")
                                      for r, why in off), manifest.name),
        subjects=ids,
        remediation=Remediation(
            hint="Have the repository's packages signed, import the owner's public key "
                 "(rpm --import KEYFILE), set gpgkey= to it and turn gpgcheck on (commands below).",
            commands=tuple(tool + ("--save", "--setopt=%s.gpgcheck=1" % rid) for rid in ids)),
    )]


CHECK = Check(
    id="repos.gpgcheck",
    title="Enabled repositories check package signatures",
    category="repos",
    run=run,
    description=__doc__,
)
