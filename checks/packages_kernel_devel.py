"""Detects kernel-devel and kernel-headers whose version is not the kernel's.

Why it matters on the target: kernel-devel holds what building an
out-of-tree module needs (headers, Makefile, Module.symvers) for exactly one
kernel build. If no installed kernel-devel matches the kernel the host runs
(or, for an offline root, its newest installed kernel), DKMS and vendor
installers already cannot build modules for it, and after the migration they
need the target kernel's devel package instead - a module-building setup
that is broken now is found out when the target kernel boots without its
modules. A kernel-devel that matches no installed kernel at all is left over.
kernel-headers (the userspace API headers glibc builds against) normally moves
with the kernel; a different version is harmless for most builds and is
reported as information only.

Facts: packages (kernel-devel, kernel-headers NEVRAs), kernel.release
(running kernel, or newest installed kernel package for an offline root).
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def _vra(pkg) -> str:
    return "%s-%s.%s" % (pkg.version, pkg.release, pkg.arch)


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    kernel = facts.kernel.release or ""
    which = "running kernel" if facts.kernel.release_source == "running" else "newest installed kernel"
    pkgs = facts.packages or ()
    devel = sorted((p for p in pkgs if p.name == "kernel-devel"), key=lambda p: p.nevra)
    headers = [p for p in pkgs if p.name == "kernel-headers"]
    findings = []
    if devel and kernel not in {_vra(p) for p in devel}:
        subjects = tuple(p.nevra for p in devel)
        findings.append(Finding(
            id="packages.kernel_devel_mismatch", severity="warning", overridable=True,
            title="No kernel-devel matches the %s %s" % (which, kernel),
            summary="Installed: %s. Modules cannot be built for kernel %s (DKMS, vendor driver "
                    "installers); after the migration to %s they need that kernel's devel package "
                    "instead." % (", ".join(subjects), kernel, manifest.name),
            subjects=subjects,
            remediation=Remediation(
                hint="If modules are built on this host, install the matching kernel-devel now and "
                     "plan the target kernel's after the swap; remove kernel-devel builds that match "
                     "no installed kernel.",
                commands=(("dnf", "install", "kernel-devel-%s" % kernel),
                          ("rpm", "-q", "kernel", "kernel-core", "kernel-devel")))))
    if headers and kernel and not any(kernel.startswith("%s-%s." % (p.version, p.release)) for p in headers):
        findings.append(Finding(
            id="packages.kernel_headers_mismatch", severity="info",
            title="kernel-headers is not the %s's version" % which,
            summary="kernel-headers %s, %s %s. Harmless for most userspace builds; the swap replaces "
                    "kernel-headers with %s's." % (", ".join(p.nevra for p in headers), which, kernel,
                                                   manifest.name),
            subjects=tuple(sorted(p.nevra for p in headers)),
            remediation=Remediation(hint="Nothing to do unless software is built here against "
                                         "kernel headers of the running kernel.")))
    return findings


CHECK = Check(
    id="packages.kernel_devel",
    title="kernel-devel and kernel-headers match the kernel",
    category="packages",
    run=run,
    requires=("packages", "kernel.release"),
    description=__doc__,
)
