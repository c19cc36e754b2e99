"""Detects installed packages that are not from the source distribution, and CentOS
packages signed with a key that is not a CentOS signing key.

Why it matters on the target: the swap replaces CentOS packages with the
target's builds; every other package (a vendor's, EPEL's, an in-house build)
stays installed, keeps coming from its own repository - which must serve
builds for the target (see repos.classification) - and was never tested
against the target's libraries. A package whose vendor is CentOS but whose
signature is some other key was rebuilt or re-signed by someone else (an
internal mirror, a patched rebuild): distro-sync replaces it with the target's
build, and whatever that rebuild changed is lost.

A package counts as the source distribution's when its vendor is "CentOS" and
it is signed. The CentOS signing keys are public facts: CentOS 7
24c6a8a7f4a80eb5 (RPM-GPG-KEY-CentOS-7) and CentOS Linux 8 / Stream 8
05b555b38483c65d (RPM-GPG-KEY-centosofficial). Any other key on CentOS-vendor
packages is reported by key id (info), so a fleet that re-signs packages on
its mirror waives that key once; nothing is hard-coded beyond the real CentOS
keys. Unsigned packages are packages.signatures' concern.

Facts: packages (name, vendor, sigkey_id; gpg-pubkey entries for the imported
keys' user ids). Manifest keys: name, el_major.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from migrate.engine import Check
from migrate.facts import Facts, Package
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest

SOURCE_VENDORS = ("CentOS",)
CENTOS_KEY_IDS = {
    "24c6a8a7f4a80eb5": "CentOS 7 (RPM-GPG-KEY-CentOS-7)",
    "05b555b38483c65d": "CentOS Linux 8 / Stream 8 (RPM-GPG-KEY-centosofficial)",
}
SHOWN = 6


def real_packages(facts: Facts) -> List[Package]:
    """Installed packages without rpm's gpg-pubkey entries (imported keys, not software)."""
    return [p for p in facts.packages or () if p.name != "gpg-pubkey"]


def from_source_vendor(pkg: Package) -> bool:
    return (pkg.vendor or "") in SOURCE_VENDORS


def _names(pkgs: List[Package]) -> str:
    names = sorted({p.name for p in pkgs})
    more = " and %d more" % (len(names) - SHOWN) if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def imported_keys(facts: Facts) -> Dict[str, str]:
    """Short key id (last 8 hex digits) -> the key's user id, from rpm's gpg-pubkey entries."""
    return {p.version.lower(): p.packager or "" for p in facts.packages or ()
            if p.name == "gpg-pubkey" and p.version}


def key_label(key: str, keyring: Dict[str, str]) -> str:
    uid = keyring.get(key[-8:])
    return "key %s (%s)" % (key, "imported: %s" % uid if uid else "not imported in the rpmdb")


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    findings = []
    keyring = imported_keys(facts)
    foreign: Dict[Tuple[str, str], List[Package]] = {}
    rekeyed: Dict[str, List[Package]] = {}
    for pkg in real_packages(facts):
        if not from_source_vendor(pkg):
            foreign.setdefault((pkg.vendor or "(no vendor)", pkg.sigkey_id or "unsigned"), []).append(pkg)
        elif pkg.sigkey_id and pkg.sigkey_id not in CENTOS_KEY_IDS:
            rekeyed.setdefault(pkg.sigkey_id, []).append(pkg)
    if foreign:
        names = sorted({p.name for pkgs in foreign.values() for p in pkgs})
        groups = "; ".join("%s, %s: %s" % (vendor, key_label(key, keyring) if key != "unsigned" else "unsigned",
                                           _names(pkgs))
                           # by vendor, then by the packages a sysadmin recognises
                           for (vendor, key), pkgs in sorted(
                               foreign.items(), key=lambda item: (item[0][0], _names(item[1]))))
        findings.append(Finding(
            id="packages.third_party", severity="info",
            title="%d installed package(s) are not from CentOS" % len(names),
            summary="By vendor and signing key: %s. The swap does not touch them: they stay installed "
                    "and keep coming from their own repositories, which must offer builds for %s "
                    "(see the repository findings)." % (groups, manifest.name),
            subjects=tuple(names),
            remediation=Remediation(
                hint="For each vendor, confirm it publishes packages for %s (EL%s) and keep or "
                     "switch its repository accordingly; test the software on the target."
                     % (manifest.name, manifest.el_major or "?"),
                commands=(("rpm", "-q", "--qf", "%{NAME} %{VENDOR} %{PACKAGER}\\n") + tuple(names[:30]),))))
    if rekeyed:
        keys = sorted(rekeyed)
        findings.append(Finding(
            id="packages.unknown_distribution_key", severity="info",
            title="CentOS packages signed with %d key(s) that CentOS does not sign with" % len(keys),
            summary="%s. CentOS signs with %s. These packages were rebuilt or re-signed by someone "
                    "else (an internal mirror, a patched rebuild); distro-sync replaces them with %s's "
                    "builds, so any local change in them is lost."
                    % ("; ".join("%s: %d package(s) (%s)" % (key_label(key, keyring), len(rekeyed[key]),
                                                               _names(rekeyed[key]))
                                 for key in keys),
                       ", ".join("%s %s" % (key, label) for key, label in sorted(CENTOS_KEY_IDS.items())),
                       manifest.name),
            subjects=tuple(keys),
            remediation=Remediation(
                hint="Find out who holds these keys (`rpm -qi gpg-pubkey-<last 8 digits>` names the "
                     "imported key) and whether the rebuilt packages carry changes you need on the target.",
                commands=(("rpm", "-qa", "gpg-pubkey", "--qf", "%{VERSION}-%{RELEASE} %{SUMMARY}\\n"),))))
    return findings


CHECK = Check(
    id="packages.provenance",
    title="Installed packages come from CentOS, signed with CentOS keys",
    category="packages",
    run=run,
    requires=("packages",),
    description=__doc__,
)
