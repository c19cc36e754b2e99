"""Identify the source distribution of a host from its release files.

Pure function of facts, shared by the checks that need to know what the host
runs. /etc/os-release wins (it says TencentOS on a TencentOS host whose
/etc/redhat-release still says CentOS); the CentOS release file supplies the
minor version, which os-release does not carry on CentOS Linux.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from migrate.facts import Facts

_RELEASE_LINE = re.compile(
    r"^(?P<name>.+?) release (?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<build>\d+))?")

SUPPORTED = {("centos", "linux", 7), ("centos", "linux", 8), ("centos", "stream", 8)}


@dataclass(frozen=True)
class SourceRelease:
    distro: Optional[str]  # os-release ID, lower case ("centos", "tencentos", ...)
    variant: Optional[str]  # "linux" or "stream" for CentOS
    major: Optional[int]
    minor: Optional[int]
    pretty: str
    evidence: Tuple[str, ...]

    @property
    def supported(self) -> bool:
        return (self.distro, self.variant, self.major) in SUPPORTED

    @property
    def label(self) -> str:
        if self.distro == "centos" and self.major is not None:
            name = "CentOS Stream" if self.variant == "stream" else "CentOS Linux"
            minor = ".%d" % self.minor if self.minor is not None and self.variant != "stream" else ""
            return "%s %d%s" % (name, self.major, minor)
        return self.pretty


def _major(value: str) -> Optional[int]:
    m = re.match(r"^(\d+)", value or "")
    return int(m.group(1)) if m else None


def identify_source(facts: Facts) -> Optional[SourceRelease]:
    """The host's distribution, or None when no release file says anything."""
    osr = facts.os.os_release or {}
    release_line = None
    release_path = None
    for path in ("/etc/centos-release", "/etc/redhat-release", "/etc/system-release"):
        entry = facts.os.release_files.get(path)
        if entry and entry.content.strip():
            release_line, release_path = entry.content.strip().splitlines()[0], path
            break
    parsed = _RELEASE_LINE.match(release_line) if release_line else None

    if osr.get("ID"):
        distro = osr["ID"].strip().lower()
        name = osr.get("NAME", "")
        evidence = ["/etc/os-release"]
        variant = None
        major = _major(osr.get("VERSION_ID", ""))
        minor = None
        if distro == "centos":
            variant = "stream" if "stream" in name.lower() else "linux"
            if parsed and "centos" in parsed.group("name").lower() and \
                    parsed.group("major") and int(parsed.group("major")) == major:
                minor = int(parsed.group("minor")) if parsed.group("minor") else None
                evidence.append(release_path)
        pretty = osr.get("PRETTY_NAME") or ("%s %s" % (name, osr.get("VERSION_ID", ""))).strip()
        return SourceRelease(distro, variant, major, minor, pretty or distro, tuple(evidence))

    if parsed:
        name = parsed.group("name").strip()
        lowered = name.lower()
        distro = "centos" if lowered.startswith("centos") else re.sub(r"[^a-z0-9]+", "", lowered.split()[0])
        variant = None
        if distro == "centos":
            variant = "stream" if "stream" in lowered else "linux"
        minor = int(parsed.group("minor")) if parsed.group("minor") else None
        return SourceRelease(distro, variant, int(parsed.group("major")), minor, release_line,
                             (release_path,))
    return None
