"""Detects installed packages that carry no OpenPGP signature.

Why it matters on the target: nothing vouches for an unsigned package - not
who built it, not that it is the build that was tested. The migration keeps
it installed as is (no target repository replaces it), `rpm -V` can only
compare it with itself, and a target with gpgcheck enforced will refuse to
install the same file again (a reinstall, a rollback, a new host built the
same way). Typical sources: in-house builds, `rpm -i` of a downloaded file, a
repository with gpgcheck=0 (see repos.gpgcheck).

rpm's imported keys (gpg-pubkey entries) are not packages and are ignored.

Facts: packages (name, sigkey_id, vendor). Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.checks.packages_provenance import real_packages
from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    unsigned = sorted((p for p in real_packages(facts) if not p.sigkey_id), key=lambda p: p.nevra)
    if not unsigned:
        return []
    names = tuple(sorted({p.name for p in unsigned}))
    detail = ", ".join("%s (vendor %s)" % (p.nevra, p.vendor or "none") for p in unsigned[:10])
    return [Finding(
        id="packages.unsigned", severity="warning", overridable=True,
        title="%d installed package(s) are not signed" % len(names),
        summary="%s%s carry no signature: their origin and integrity cannot be verified, and a "
                "target that enforces gpgcheck will not install them again as they are."
                % (detail, " and %d more" % (len(unsigned) - 10) if len(unsigned) > 10 else ""),
        subjects=names,
        remediation=Remediation(
            hint="Identify the owner of each package; sign in-house builds with your release key "
                 "(rpmsign --addsign) and distribute the public key, or rebuild them for %s."
                 % manifest.name,
            commands=(("rpm", "-qi") + names[:30],)),
    )]


CHECK = Check(
    id="packages.signatures",
    title="Installed packages are signed",
    category="packages",
    run=run,
    requires=("packages",),
    description=__doc__,
)
