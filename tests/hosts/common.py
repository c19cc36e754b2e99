"""Helpers shared by the named host specs: data files, package lists, fake modules.

Package lists live in tests/data/packages/ (provenance in tests/data/SOURCES.md);
captured /proc, /sys and /etc files in tests/data/captured/<host>/.
"""

import lzma
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import Pkg, Symlink, parse_nevra
else:
    from hostbuild import Pkg, Symlink, parse_nevra

DATA = Path(__file__).resolve().parent.parent / "data"

Entry = Tuple[str, Optional[int], str, str, str, str, Optional[str]]   # n, e, v, r, a, license, srpm


def data(rel: str) -> bytes:
    return (DATA / rel).read_bytes()


def text(rel: str) -> str:
    return (DATA / rel).read_text()


def read_list(rel: str) -> List[Entry]:
    """Read a package list: NEVRA per line, optionally TAB licence TAB source N-V-R."""
    out = []
    for line in text(rel).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        name, epoch, version, release, arch = parse_nevra(cols[0])
        lic = cols[1] if len(cols) > 1 else ""
        srpm = cols[2] if len(cols) > 2 else None
        out.append((name, epoch, version, release, arch, lic, srpm))
    return out


def merge_lists(*lists: Iterable[Entry]) -> List[Entry]:
    """Union by (name, arch); the first list that has a package wins."""
    seen: Dict[Tuple[str, str], Entry] = {}
    for lst in lists:
        for entry in lst:
            seen.setdefault((entry[0], entry[4]), entry)
    return sorted(seen.values(), key=lambda e: (e[0], e[4]))


def guess_sources(entries: List[Entry]) -> Dict[str, str]:
    """name -> source N-V-R for entries without one.

    Heuristic: `foo-bar` with the same version-release as a listed `foo` comes
    from source `foo` (systemd-libs from systemd, dbus-tools from dbus).
    """
    by_name = {e[0]: e for e in entries}
    out = {}
    for name, _ep, ver, rel, _arch, _lic, srpm in entries:
        if srpm:
            out[name] = srpm
            continue
        parts = name.split("-")
        for i in range(len(parts) - 1, 0, -1):
            cand = "-".join(parts[:i])
            other = by_name.get(cand)
            if other and (other[2], other[3]) == (ver, rel):
                src = other[6] or "%s-%s-%s" % (cand, ver, rel)
                break
        else:
            src = "%s-%s-%s" % (name, ver, rel)
        out[name] = src
    return out


def fake_module(name: str, vermagic: str, signed: bool = True, xz: bool = True,
                license: str = "GPL", version: str = "") -> bytes:
    """Tiny stand-in for a kernel module: an ELF magic, a .modinfo-like string
    table (name, vermagic, license, version) and, if `signed`, the module
    signature trailer; xz-compressed like EL's *.ko.xz when `xz`."""
    info = [b"license=" + license.encode(), b"name=" + name.encode(),
            b"vermagic=" + vermagic.encode() + b" SMP mod_unload modversions "]
    if version:
        info.append(b"version=" + version.encode())
    body = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\0".join(info) + b"\0"
    if signed:
        body += b"\0" * 8 + b"~Module signature appended~\n"
    if xz:
        return lzma.compress(body, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    return body


def tree(rel: str) -> Dict[str, bytes]:
    """All files under tests/data/<rel> as {"/path": bytes} (a captured host tree)."""
    base = DATA / rel
    return {"/" + str(p.relative_to(base)): p.read_bytes()
            for p in sorted(base.rglob("*")) if p.is_file()}


def doc_file(name: str, version: str, el: int) -> Dict[str, str]:
    """One small owned file per package, in the distro's doc-dir layout."""
    d = "/usr/share/doc/%s-%s" % (name, version) if el == 7 else "/usr/share/doc/%s" % name
    return {d + "/README": "%s %s\n" % (name, version)}


def filesystem_files() -> Dict[str, Symlink]:
    """The merged-/usr symlinks the EL `filesystem` package owns."""
    return {"/bin": Symlink("usr/bin"), "/sbin": Symlink("usr/sbin"),
            "/lib": Symlink("usr/lib"), "/lib64": Symlink("usr/lib64")}


def modules_dep(kver: str, modules: Dict[str, List[str]]) -> str:
    """modules.dep text: {"kernel/fs/xfs/xfs.ko.xz": ["kernel/lib/libcrc32c.ko.xz"]}."""
    return "".join("%s: %s\n" % (m, " ".join(deps)) if deps else "%s:\n" % m
                   for m, deps in sorted(modules.items()))


def packages_from(entries: List[Entry], el: int, vendor: str, packager: str, sign_key: str,
                  skip: Iterable[str] = ()) -> List[Pkg]:
    """Plain distro packages (one doc file each) for every list entry not in `skip`."""
    sources = guess_sources(entries)
    skip = set(skip)
    out = []
    for name, epoch, version, release, arch, lic, _srpm in entries:
        if name in skip:
            continue
        out.append(Pkg(name=name, epoch=epoch, version=version, release=release, arch=arch,
                       vendor=vendor, packager=packager, license=lic or "GPLv2+",
                       summary="%s package" % name, files=doc_file(name, version, el),
                       sign_key=sign_key, source=sources[name]))
    return out
