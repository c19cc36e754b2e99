"""Detects enabled repositories that still point at mirror.centos.org or
mirrorlist.centos.org, which no longer serve CentOS Linux 7/8 or CentOS Stream 8,
and at vendor repositories that were taken down (the legacy Google-hosted
Kubernetes repository).

Why it matters on the target: at each end of life the CentOS infrastructure
copies the release to vault.centos.org, turns the mirrorlist off for it and
removes the content from the main mirrors (the steps as listed on centos-devel,
lists.centos.org/pipermail/centos-devel/2021-July/141614.html; CentOS Linux 8: 2021-12-31;
CentOS Stream 8: 2024-05-31; CentOS 7: 2024-06-30 - "the operating system was
moved from the main mirrors to the CentOS vault, and the mirrorlists were
turned off", smoogespace.blogspot.com 2024-07-16). Since then dnf/yum fail
on these repositories ("Cannot prepare internal mirrorlist: No URLs in
mirrorlist"; "Could not resolve host: mirrorlist.centos.org", e.g.
github.com/apache/arrow#43119, github.com/epics-base/epics-base#524, July
2024), and mock's CentOS 7/8 configurations moved to vault.centos.org. With
skip_if_unavailable=False (the EL8 default) every dnf command on the host
fails, including the ones the swap runs, unless these repositories are
disabled. vault.centos.org keeps the archive only: one server, no updates.
The legacy Kubernetes repository (packages.cloud.google.com/yum/repos/
kubernetes-*) was frozen on 2023-09-13 and "went away on March 4, 2024"
(kubernetes.io/blog/2023/08/31/legacy-package-repository-deprecation, update of
2024-03-26); its replacement is pkgs.k8s.io, one repository per Kubernetes
minor version. Pure check: the verdict rests on host names and paths, no
network access.

The repos probe is required in part: "absent" (no repository defined) makes
the check not applicable; a failed probe skips it.

Facts: repos (id, file, enabled, baseurl, mirrorlist, metalink, expanded),
os.os_release and os.release_files (source major for the command).
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.checks.repos_classification import disable_command, enabled_repos, host_of, urls
from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

RETIRED_HOSTS = ("mirror.centos.org", "mirrorlist.centos.org")
# (label, host, path fragment, what replaces it)
RETIRED_VENDOR_REPOS = (
    ("the legacy Google-hosted Kubernetes repository (gone since 2024-03-04)", "packages.cloud.google.com",
     "/yum/repos/kubernetes-", "pkgs.k8s.io (https://pkgs.k8s.io/core:/stable:/v1.<minor>/rpm/)"),
)


def retired_vendor(repo):
    for label, host, fragment, replacement in RETIRED_VENDOR_REPOS:
        if any(host_of(u) == host and fragment in u for u in urls(repo)):
            return label, replacement
    return None


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    dead, gone = [], []
    for repo in enabled_repos(facts):
        hosts = sorted({host_of(u) for u in urls(repo)} & set(RETIRED_HOSTS))
        if hosts:
            dead.append((repo, hosts))
        vendor = retired_vendor(repo)
        if vendor:
            gone.append((repo, vendor))
    source = identify_source(facts)
    major = source.major if source else None
    findings = []
    if gone:
        ids = tuple(r.id for r, _ in gone)
        findings.append(Finding(
            id="repos.retired_vendor_repo", severity="warning", overridable=True,
            title="%d enabled repositories point at vendor repositories that were taken down" % len(ids),
            summary="%s. dnf fails on them (every command, with skip_if_unavailable=False), including the "
                    "swap to %s, and nothing installed from them gets updates."
                    % ("; ".join("%s (%s): %s, replaced by %s" % (r.id, r.file or "main config", label, new)
                                 for r, (label, new) in gone), manifest.name),
            subjects=ids,
            remediation=Remediation(
                hint="Disable them and add the vendor's current repository for the version you run.",
                commands=(disable_command(ids, major),))))
    if not dead:
        return findings
    ids = tuple(r.id for r, _ in dead)
    return findings + [Finding(
        id="repos.centos_eol_mirror", severity="warning", overridable=True,
        title="%d enabled repositories point at CentOS mirrors that no longer serve this release" % len(ids),
        summary="%s. CentOS Linux 7/8 and Stream 8 content was removed from mirror.centos.org and the "
                "mirrorlist no longer answers for them: dnf fails on these repositories (every command, "
                "with skip_if_unavailable=False), including the swap to %s, unless they are disabled."
                % ("; ".join("%s (%s: %s)" % (r.id, r.file or "main config", ", ".join(h)) for r, h in dead),
                   manifest.name),
        subjects=ids,
        remediation=Remediation(
            hint="Disable them before the swap (it replaces them with %s's repositories); if the host "
                 "must install CentOS packages until then, point baseurl at vault.centos.org (archive "
                 "only, no updates) or an internal mirror instead." % manifest.name,
            commands=(disable_command(ids, major),)),
    )]


CHECK = Check(
    id="repos.eol_mirrors",
    title="No enabled repository depends on retired mirrors or repositories",
    category="repos",
    run=run,
    description=__doc__,
)
