"""Render an RPM .spec file for one source package and stage its payload.

All packages of a group share one source N-V-R: the package whose name is the
source name (if any) is the main package, every other one is a subpackage
(`%package -n NAME`) with its own Version/Release/Epoch/Vendor/Packager, so
SOURCERPM comes out as on a real distribution (device-mapper from lvm2, ...).
No %prep/%build/%install sections are written: the payload is staged straight
into the buildroot by `stage_payload()`, which keeps rpmbuild from spawning a
shell per spec. Dependency generators are off (AutoReqProv: no), so packages
only carry the provides/requires the spec asks for.
"""

import os
from pathlib import Path
from typing import List

from .model import Pkg, Symlink, content_bytes, split_nvr


def _esc(text: str) -> str:
    """Escape a header value for a spec file (no macro expansion, one line)."""
    if "\n" in text:
        raise ValueError("newline in spec value %r" % text)
    return text.replace("%", "%%")


def _tags(pkg: Pkg, main: bool) -> List[str]:
    out = []
    if not main:
        out.append("Version: %s" % pkg.version)
        out.append("Release: %s" % pkg.release)
    if pkg.epoch is not None:
        out.append("Epoch: %d" % pkg.epoch)
    out.append("Summary: %s" % _esc(pkg.summary or pkg.name))
    out.append("License: %s" % _esc(pkg.license))
    out.append("Group: %s" % _esc(pkg.group))
    if pkg.url:
        out.append("URL: %s" % _esc(pkg.url))
    if pkg.vendor:
        out.append("Vendor: %s" % _esc(pkg.vendor))
    if pkg.packager:
        out.append("Packager: %s" % _esc(pkg.packager))
    for prov in pkg.provides:
        out.append("Provides: %s" % prov)
    for req in pkg.requires:
        out.append("Requires: %s" % req)
    return out


def _files_section(pkg: Pkg) -> List[str]:
    lines = []
    for d in sorted(pkg.dirs):
        lines.append("%%dir %s" % d)
    for g in sorted(pkg.ghosts):
        lines.append("%%ghost %%attr(%s,root,root) %s" % (pkg.modes.get(g, "0644"), g))
    for path, content in sorted(pkg.files.items()):
        prefix = ""
        mode = pkg.modes.get(path)
        if mode and not isinstance(content, Symlink):
            prefix += "%%attr(%s,root,root) " % mode
        if (path.startswith("/etc/") and path not in pkg.noconfig
                and not isinstance(content, Symlink)):
            prefix += "%config(noreplace) "
        lines.append(prefix + path)
    return lines


def render_spec(pkgs: List[Pkg], target: str) -> str:
    """Spec text for `pkgs` (all with the same `source_nvr`) built for `target`."""
    src_name, src_ver, src_rel = split_nvr(pkgs[0].source_nvr)
    main = [p for p in pkgs if p.name == src_name]
    if main and (main[0].version, main[0].release) != (src_ver, src_rel):
        raise ValueError("%s: main package version differs from source %s"
                         % (main[0].nvra, pkgs[0].source_nvr))
    lines = [
        "Name: %s" % src_name,
        "Version: %s" % src_ver,
        "Release: %s" % src_rel,
        "AutoReqProv: no",
    ]
    if main:
        if target != "noarch" and main[0].arch == "noarch":
            lines.append("BuildArch: noarch")
        lines += _tags(main[0], True)
    else:
        lines += ["Summary: %s" % src_name, "License: GPLv2+"]
    lines += ["", "%description", _esc((main[0].summary if main else src_name) or src_name), ""]
    for pkg in pkgs:
        if main and pkg is main[0]:
            continue
        lines.append("%%package -n %s" % pkg.name)
        if target != "noarch" and pkg.arch == "noarch":
            lines.append("BuildArch: noarch")
        lines += _tags(pkg, False)
        lines += ["", "%%description -n %s" % pkg.name, _esc(pkg.summary or pkg.name), ""]
    for pkg in pkgs:
        if main and pkg is main[0]:
            lines.append("%files")
        else:
            lines.append("%%files -n %s" % pkg.name)
        lines += _files_section(pkg)
        lines.append("")
    return "\n".join(lines) + "\n"


def stage_payload(pkgs: List[Pkg], buildroot: Path) -> None:
    """Write every package's files, symlinks and dirs under `buildroot`."""
    buildroot.mkdir(parents=True, exist_ok=True)
    for pkg in pkgs:
        for d in pkg.dirs:
            (buildroot / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
        for path, content in pkg.files.items():
            dest = buildroot / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Symlink):
                if dest.is_symlink() or dest.exists():
                    dest.unlink()
                os.symlink(content.target, dest)
            else:
                dest.write_bytes(content_bytes(content))
                os.chmod(dest, 0o644)
