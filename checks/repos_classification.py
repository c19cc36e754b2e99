"""Classifies every enabled repository and says what the swap must do with it.

Why it matters on the target: after the swap dnf resolves against every
enabled repository. CentOS repositories must go (the target's replace them);
CentOS repositories the target has no counterpart for (centosplus, CR,
fasttrack, Software Collections, SIG repos) must be disabled; a third-party
or internal repository keeps serving the host, so it must serve builds for
the target's EL major - one whose URL is pinned to another major (el7,
centos/7, epel-7, rhel-7...) feeds EL7 packages to an EL8 system.

Classification, from the repo id, the host and the path of its baseurl,
mirrorlist or metalink (raw and with dnf variables expanded):
  distribution - *.centos.org, the stock CentOS-*.repo files, or CentOS's
                 layout (/centos/<release>/<channel>/) on another mirror; the
                 channel (base, updates, extras, appstream, baseos, powertools,
                 ha, centosplus, cr, fasttrack, sclo, SIGs...) decides whether
                 one of the target's repositories (manifest repos) replaces it;
  EPEL         - Fedora's EPEL hosts or an /epel/ path or an epel* id;
  third party  - known vendors: Docker CE, Kubernetes, nginx, PostgreSQL
                 PGDG, ELRepo, MySQL, MariaDB, Zabbix, Grafana, Elastic,
                 GitLab, NodeSource, Remi, HashiCorp, Microsoft, Jenkins, ...
                 (also through a mirror's /docker-ce/, /kubernetes/ paths);
  custom       - anything else: internal mirrors and in-house repositories.
The major a URL is pinned to is read from the raw URL only: $releasever
follows the host and is not a pin. Disabled repositories are not reported.

The repos probe is required in part: "absent" means no repository is
defined (nothing to classify: not applicable); a failed probe (a .repo file
dnf would not parse) skips the check, as the facts may miss repositories.

Facts: repos (id, file, enabled, baseurl, mirrorlist, metalink, expanded),
os.os_release and os.release_files (source major, via migrate.source).
Manifest keys: repos (ids of the target's repositories), el_major, name.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

from migrate.engine import Check, MissingFacts, NotApplicable
from migrate.facts import Facts, Repo
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest
from migrate.source import identify_source

_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^/@?#]*@)?([^/:?#]+)", re.I)
_PIN = re.compile(r"(?:^|[^a-z0-9])(?:el|epel|rhel|centos|redhat|enterprise)[-_/.]?(\d{1,2})(?![0-9])")
_CENTOS_FILE = re.compile(r"^CentOS-.*\.repo$")

EPEL_HOSTS = ("dl.fedoraproject.org", "download.fedoraproject.org", "mirrors.fedoraproject.org",
              "archives.fedoraproject.org", "download.example")

# (label, host suffixes, path fragments) of well-known vendor repositories.
THIRD_PARTY: Tuple[Tuple[str, Tuple[str, ...], Tuple[str, ...]], ...] = (
    ("Docker CE", ("download.docker.com",), ("/docker-ce/linux/",)),
    ("Kubernetes (legacy Google-hosted repository)", ("packages.cloud.google.com",), ("/kubernetes/yum/",)),
    ("Kubernetes (pkgs.k8s.io)", ("pkgs.k8s.io", "prod-cdn.packages.k8s.io"), ()),
    ("nginx", ("nginx.org",), ()),
    ("PostgreSQL PGDG", ("download.postgresql.org", "yum.postgresql.org"), ("/pgdg/",)),
    ("ELRepo", ("elrepo.org",), ("/elrepo/",)),
    ("MySQL", ("repo.mysql.com",), ()),
    ("MariaDB", ("yum.mariadb.org", "downloads.mariadb.com", "dlm.mariadb.com"), ()),
    ("Zabbix", ("repo.zabbix.com",), ()),
    ("Grafana", ("packages.grafana.com", "rpm.grafana.com"), ()),
    ("Elastic", ("artifacts.elastic.co",), ()),
    ("GitLab", ("packages.gitlab.com",), ()),
    ("NodeSource", ("rpm.nodesource.com",), ()),
    ("Remi", ("rpms.remirepo.net", "cdn.remirepo.net"), ()),
    ("IUS", ("repo.ius.io",), ()),
    ("RPM Fusion", ("rpmfusion.org",), ()),
    ("HashiCorp", ("rpm.releases.hashicorp.com",), ()),
    ("Microsoft", ("packages.microsoft.com",), ()),
    ("Google", ("dl.google.com",), ()),
    ("Jenkins", ("pkg.jenkins.io",), ()),
    ("Percona", ("repo.percona.com",), ()),
    ("MongoDB", ("repo.mongodb.org",), ()),
)

# What a sysadmin should know about a vendor's repository on another distribution.
VENDOR_NOTES = {
    "ELRepo": "its kmod-* packages are built for the RHEL/CentOS kernel's kABI and load only on a "
              "compatible kernel (see the kernel-module findings)",
    "Kubernetes (legacy Google-hosted repository)": "taken down on 2024-03-04 (see repos.eol_mirrors)",
}

# CentOS channel -> ids of target repositories that take its place (matched case-insensitively).
COUNTERPARTS: Dict[str, Tuple[str, ...]] = {
    "base": ("BaseOS", "os"), "baseos": ("BaseOS", "os"), "appstream": ("AppStream",),
    "updates": ("updates",), "extras": ("Extras", "extras"), "powertools": ("PowerTools", "CRB"),
    "highavailability": ("HighAvailability",), "resilientstorage": ("ResilientStorage",),
}
SIG_DIRS = ("virt", "cloud", "storage", "opstools", "configmanagement", "messaging", "nfv", "paas",
            "infra", "kmods", "hyperscale", "atomic", "dotnet", "gluster", "ceph", "openstack")
_CHANNEL_BY_ID = {"base": "base", "baseos": "baseos", "appstream": "appstream", "updates": "updates",
                  "extras": "extras", "powertools": "powertools", "ha": "highavailability",
                  "highavailability": "highavailability", "resilientstorage": "resilientstorage",
                  "centosplus": "centosplus", "plus": "centosplus", "fasttrack": "fasttrack", "cr": "cr",
                  "devel": "devel", "debuginfo": "debuginfo", "media": "media"}


class Kind:
    DISTRIBUTION, EPEL, THIRD_PARTY, CUSTOM = "distribution", "epel", "third_party", "custom"


def urls(repo: Repo, expanded: bool = True) -> List[str]:
    """The repository's active URLs: baseurl(s), mirrorlist, metalink (raw and, if asked, expanded)."""
    raw = list(repo.baseurl) + [u for u in (repo.mirrorlist, repo.metalink) if u]
    if not expanded:
        return raw
    exp = list(repo.expanded.baseurl) + [u for u in (repo.expanded.mirrorlist, repo.expanded.metalink) if u]
    return raw + [u for u in exp if u not in raw]


def host_of(url: str) -> str:
    match = _HOST.match(url.strip())
    return match.group(1).lower() if match else ""


def _host_matches(host: str, suffixes: Sequence[str]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def pinned_majors(repo: Repo) -> Tuple[int, ...]:
    """EL majors literally written into the repository's raw URLs ($releasever is no pin)."""
    found = set()
    for url in urls(repo, expanded=False):
        for match in _PIN.finditer(url.lower()):
            found.add(int(match.group(1)))
    return tuple(sorted(found))


def _channel(repo: Repo, all_urls: List[str]) -> str:
    segments = set()
    for url in all_urls:
        path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url.strip(), flags=re.I)
        segments.update(s.lower() for s in re.split(r"[/?&=]", path) if s)
        if "debuginfo.centos.org" in url:
            segments.add("debuginfo")
    rid = repo.id.lower()
    if rid in _CHANNEL_BY_ID:
        return _CHANNEL_BY_ID[rid]
    if "sclo" in segments or rid.startswith("centos-sclo"):
        return "sclo"
    for name in ("baseos", "appstream", "powertools", "highavailability", "resilientstorage",
                 "centosplus", "fasttrack", "updates", "extras", "cr", "devel"):
        if name in segments:
            return name
    if {"source", "srpms"} & segments or rid.endswith("-source"):
        return "source"
    if "debuginfo" in segments or rid.endswith("-debuginfo"):
        return "debuginfo"
    for sig in SIG_DIRS:
        if sig in segments:
            return "sig/" + sig
    if "os" in segments:
        return "base"
    return "unrecognised"


def classify(repo: Repo) -> Tuple[str, str]:
    """(kind, detail): detail is the CentOS channel, the vendor, or ""."""
    all_urls = urls(repo)
    hosts = {host_of(u) for u in all_urls} - {""}
    lowered = [u.lower() for u in all_urls]
    if (any(_host_matches(h, EPEL_HOSTS) for h in hosts) and any("epel" in u for u in lowered)) \
            or any("/epel/" in u or "repo=epel" in u for u in lowered) or repo.id.lower().startswith("epel"):
        return Kind.EPEL, "EPEL"
    for label, suffixes, fragments in THIRD_PARTY:
        if any(_host_matches(h, suffixes) for h in hosts) or any(f in u for f in fragments for u in lowered):
            return Kind.THIRD_PARTY, label
    centos_file = bool(repo.file and _CENTOS_FILE.match(repo.file.rsplit("/", 1)[-1]))
    if any(_host_matches(h, ("centos.org",)) for h in hosts) or centos_file \
            or any(re.search(r"/centos(-vault|-altarch|-stream)?/", u) for u in lowered):
        return Kind.DISTRIBUTION, _channel(repo, all_urls)
    return Kind.CUSTOM, ""


def enabled_repos(facts: Facts) -> List[Repo]:
    """Enabled repositories (first definition of an id wins, as in dnf), or NotApplicable/MissingFacts."""
    probe = facts.probe("repos")
    if probe.status == "absent":
        raise NotApplicable("no repository is defined on this host (%s)" % (probe.message or "absent"))
    if probe.status != "ok":
        raise MissingFacts("needs repos, which is %s%s: repositories in an unreadable file are unknown"
                           % (probe.status, ": " + probe.message if probe.message else ""))
    return [r for r in facts.repos.repos if r.enabled and not r.duplicate]


def disable_command(ids: Sequence[str], source_major: Optional[int]) -> Tuple[str, ...]:
    if source_major == 7:
        return ("yum-config-manager", "--disable") + tuple(ids)
    return ("dnf", "config-manager", "--set-disabled") + tuple(ids)


def _target_ids(manifest: Manifest, channel: str) -> List[str]:
    wanted = {c.lower() for c in COUNTERPARTS.get(channel, ())}
    return [r.id for r in manifest.repos if r.id.lower() in wanted]


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    repos = enabled_repos(facts)
    source = identify_source(facts)
    major = source.major if source else None
    target_major = manifest.el_major
    replaced: List[Tuple[Repo, List[str], str]] = []
    orphaned: List[Tuple[Repo, str]] = []
    epel: List[Repo] = []
    third: List[Tuple[Repo, str]] = []
    custom: List[Repo] = []
    pinned: List[Tuple[Repo, str, Tuple[int, ...]]] = []
    for repo in repos:
        kind, detail = classify(repo)
        if kind == Kind.DISTRIBUTION:
            if not manifest.repos:
                replaced.append((repo, [], detail))
                continue
            targets = _target_ids(manifest, detail)
            if targets:
                replaced.append((repo, targets, detail))
            else:
                orphaned.append((repo, detail))
            continue
        pins = pinned_majors(repo)
        if target_major is not None and pins and any(p != target_major for p in pins):
            pinned.append((repo, detail or "custom", pins))
        elif kind == Kind.EPEL:
            epel.append(repo)
        elif kind == Kind.THIRD_PARTY:
            third.append((repo, detail))
        else:
            custom.append(repo)
    findings = []
    if replaced:
        if manifest.repos:
            mapping = "; ".join("%s (%s) -> %s" % (r.id, ch, ", ".join(t)) for r, t, ch in replaced)
            what = "the swap disables them and %s's repositories take their place: %s" % (manifest.name, mapping)
        else:
            what = ("the swap disables them; the %s manifest defines no repositories, so which target "
                    "repositories replace them is not known" % manifest.id)
        findings.append(Finding(
            id="repos.distribution_replaced", severity="info",
            title="%d CentOS repositories are replaced by %s's" % (len(replaced), manifest.name),
            summary="Enabled CentOS repositories: %s." % what,
            subjects=tuple(r.id for r, _, _ in replaced),
            remediation=Remediation(hint="Nothing to do before the swap; it disables these and installs "
                                         "the target's repository definitions.")))
    if orphaned:
        ids = tuple(r.id for r, _ in orphaned)
        findings.append(Finding(
            id="repos.distribution_no_counterpart", severity="warning", overridable=True,
            title="%d enabled CentOS repositories have no counterpart on %s" % (len(ids), manifest.name),
            summary="%s. %s has no repository in their place (its repositories: %s): disable them for the "
                    "swap; packages installed from them stay at their CentOS version."
                    % ("; ".join("%s (%s, %s)" % (r.id, ch, r.file or "dnf.conf") for r, ch in orphaned),
                       manifest.name, ", ".join(r.id for r in manifest.repos)),
            subjects=ids,
            remediation=Remediation(hint="Disable them (dnf-plugins-core / yum-utils provide the command).",
                                    commands=(disable_command(ids, major),))))
    if pinned:
        ids = tuple(r.id for r, _, _ in pinned)
        commands = []
        if any(detail == "EPEL" for _, detail, _ in pinned) and target_major:
            commands.append(("dnf", "install", "https://dl.fedoraproject.org/pub/epel/"
                             "epel-release-latest-%d.noarch.rpm" % target_major))
        commands.append(disable_command(ids, major))
        findings.append(Finding(
            id="repos.pinned_to_other_major", severity="warning", overridable=True,
            title="%d repositories serve packages for another EL major than %s's (EL%d)"
                  % (len(ids), manifest.name, target_major),
            summary="%s. On %s these would offer EL%s builds; switch each to its EL%d repository "
                    "(the vendor's el%d / centos/%d path, or $releasever) or disable it."
                    % ("; ".join("%s (%s, %s): EL%s in %s" % (r.id, d, r.file or "dnf.conf",
                                                               "/".join(map(str, p)), " ".join(urls(r, False)))
                                 for r, d, p in pinned),
                       manifest.name, "/".join(sorted({str(x) for _, _, p in pinned for x in p})),
                       target_major, target_major, target_major),
            subjects=ids,
            remediation=Remediation(
                hint="Install the vendor's repository definition for EL%d (for EPEL the first command) "
                     "and disable the old one; check the vendor publishes EL%d builds at all."
                     % (target_major, target_major),
                commands=tuple(commands))))
    if epel:
        findings.append(Finding(
            id="repos.epel", severity="info",
            title="EPEL stays enabled", subjects=tuple(r.id for r in epel),
            summary="%s: EPEL builds for EL%s rebuilds, so it keeps serving %s; many EPEL packages need "
                    "the target's PowerTools/CRB repository enabled too."
                    % (", ".join(r.id for r in epel), target_major or "?", manifest.name),
            remediation=Remediation(hint="Keep it; after the swap run `dnf check` to catch EPEL packages "
                                         "whose dependencies changed.")))
    if third:
        findings.append(Finding(
            id="repos.third_party", severity="info",
            title="%d third-party repositories stay enabled" % len(third),
            summary="%s. They are not pinned to another EL major; they keep serving %s after the swap."
                    % ("; ".join("%s (%s%s)" % (r.id, d, ": " + VENDOR_NOTES[d] if d in VENDOR_NOTES else "")
                                 for r, d in third), manifest.name),
            subjects=tuple(r.id for r, _ in third),
            remediation=Remediation(hint="Confirm each vendor supports %s (or EL%s rebuilds in general)."
                                         % (manifest.name, target_major or "?"))))
    if custom:
        findings.append(Finding(
            id="repos.custom", severity="info",
            title="%d internal or unrecognised repositories stay enabled" % len(custom),
            summary="%s. Their owners must make sure they serve packages built for EL%s that work on %s."
                    % ("; ".join("%s (%s)" % (r.id, " ".join(urls(r, False)) or "no URL") for r in custom),
                       target_major or "?", manifest.name),
            subjects=tuple(r.id for r in custom),
            remediation=Remediation(hint="Ask each repository's owner; point it at builds for %s if it "
                                         "serves EL-specific packages." % manifest.name)))
    return findings


CHECK = Check(
    id="repos.classification",
    title="Configured repositories: what the swap does with each",
    category="repos",
    run=run,
    description=__doc__,
)
