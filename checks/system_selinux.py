"""Reports the SELinux state and what the swap and its reboot do to it.

Why it matters: the swap replaces selinux-policy with the target's build and
ends in a reboot. A host where SELinux is disabled now but enforcing or
permissive in /etc/selinux/config comes back with SELinux on over files that
were created unlabelled: the boot runs a full relabel (long on big file
systems) and, if enforcing, services may be denied. A host that stays
disabled needs a full relabel whenever SELinux is enabled later. Enforcing and
permissive hosts keep their mode; local policy modules and booleans carry
over, but modules built against the old policy must load under the new one.

Facts: system.selinux_current (from /sys/fs/selinux), system.selinux_configured
(SELINUX= in /etc/selinux/config).
Manifest keys: name.
"""
from __future__ import annotations

from typing import List

from migrate.engine import Check, MissingFacts
from migrate.facts import Facts
from migrate.findings import Finding, Remediation
from migrate.manifests import Manifest


def run(facts: Facts, manifest: Manifest) -> List[Finding]:
    current = facts.system.selinux_current
    configured = facts.system.selinux_configured
    if current is None and configured is None:
        raise MissingFacts("SELinux state unknown: %s; %s" % (
            facts.probe("system.selinux").message or facts.probe("system.selinux").status,
            facts.probe("system.selinux_config").message or facts.probe("system.selinux_config").status))
    state = "SELinux is %s now%s" % (current or "in an unknown state",
                                     ", %s in /etc/selinux/config" % configured if configured else "")
    if current == "disabled" and configured in ("enforcing", "permissive"):
        return [Finding(
            id="system.selinux_relabel_pending", severity="warning", overridable=True,
            title="SELinux is disabled now but %s after the next boot" % configured,
            summary="%s. The reboot into %s turns SELinux on over files created while it was off: "
                    "the boot relabels the whole file system first (it can take long), and %s."
                    % (state, manifest.name, "enforcing mode may deny services whose files are "
                       "mislabelled" if configured == "enforcing" else "permissive mode logs denials"),
            subjects=("selinux",),
            remediation=Remediation(
                hint="Either set SELINUX=disabled in /etc/selinux/config to keep it off, or schedule "
                     "the relabel: `touch /.autorelabel` (or `fixfiles -F onboot`) and allow the time "
                     "for it in the migration window.",
                commands=(("sestatus",), ("grep", "^SELINUX=", "/etc/selinux/config"))),
        )]
    if configured == "disabled" or (configured is None and current == "disabled"):
        return [Finding(
            id="system.selinux_disabled", severity="info",
            title="SELinux is disabled",
            summary="%s. It stays off on %s; enabling it later needs a full file-system relabel."
                    % (state, manifest.name),
            subjects=("selinux",),
        )]
    findings = []
    if current in ("enforcing", "permissive") and configured and configured != current:
        findings.append(Finding(
            id="system.selinux_mode_changes_on_reboot", severity="info",
            title="SELinux switches from %s to %s at the reboot" % (current, configured),
            summary="%s. The swap's reboot applies the configured mode." % state,
            subjects=("selinux",),
        ))
    mode = configured or current
    if mode in ("enforcing", "permissive"):
        findings.append(Finding(
            id={"enforcing": "system.selinux_enforcing", "permissive": "system.selinux_permissive"}[mode],
            severity="info",
            title="SELinux is %s" % mode,
            summary="%s. %s's selinux-policy replaces the current one; local modules and booleans "
                    "carry over, and modules built against the old policy must load under the new one."
                    % (state, manifest.name),
            subjects=("selinux",),
            remediation=Remediation(hint="List local customisations to re-check after the swap.",
                                    commands=(("semanage", "export"), ("semodule", "-l"))),
        ))
    return findings


CHECK = Check(
    id="system.selinux",
    title="SELinux state across the swap",
    category="system",
    run=run,
    description=__doc__,
)
