"""Build (and sign) binary RPMs from `Pkg` specs with rpmbuild.

Packages are grouped by source N-V-R into one spec each (subpackages), the
payload is staged directly into each spec's buildroot, and the specs are fed
to a few `rpmbuild -bb` processes at once (one process handles many specs:
that avoids rpmbuild's ~0.1 s start-up per spec). Each process gets
`--target ARCH`, a private `_topdir`, a private HOME, and the build time via
SOURCE_DATE_EPOCH (+ `use_source_date_epoch_as_buildtime`), so packages are
reproducible apart from signatures. Specs are batched by (target arch,
buildtime, buildhost) because those are per-process settings.
"""

import shutil
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .keys import KeyInfo, sign_rpms
from .model import Pkg, split_nvr
from .specfile import render_spec, stage_payload
from .tools import ToolError, chunks, jobs, run, run_parallel, which

_ARCH_DIR = {"x86_64": "x86_64", "noarch": "noarch", "aarch64": "aarch64",
             "ppc64le": "ppc64le", "s390x": "s390x"}
_probed: Dict[str, str] = {}

SIGN_DELAY = 3 * 3600

COMMON_DEFINES = [
    "_build_id_links none",
    "__check_files %{nil}",
    "_binary_payload w2.xzdio",
    "_binary_filedigest_algorithm 8",
    "_target_platform %{_target_cpu}-redhat-linux-gnu",
    "use_source_date_epoch_as_buildtime 1",
    "debug_package %{nil}",
    "_smp_build_nthreads 1",
]


def _arch_dir(target: str, topdir: Path) -> str:
    """Value of %{_arch} for `--target target` (i686 -> i386), probed once."""
    if target in _ARCH_DIR:
        return _ARCH_DIR[target]
    if target not in _probed:
        spec = topdir / "archprobe.spec"
        spec.write_text("Name: archprobe\nVersion: 1\nRelease: 1\nSummary: p\nLicense: MIT\n"
                        "%description\np\n%install\necho ARCH=%{_arch}\n%files\n")
        out = run([which("rpmbuild"), "-bi", "--define", "_topdir %s" % topdir,
                   "--target", target, str(spec)]).stdout.decode()
        line = [ln for ln in out.splitlines() if ln.startswith("ARCH=")][0]
        _probed[target] = line.split("=", 1)[1].strip()
    return _probed[target]


def group_by_source(pkgs: List[Pkg]) -> List[Tuple[str, List[Pkg]]]:
    """[(target, pkgs)] - one entry per spec to build."""
    groups: "OrderedDict[Tuple[str, str], List[Pkg]]" = OrderedDict()
    for pkg in pkgs:
        tgt = pkg.arch
        groups.setdefault((pkg.source_nvr, tgt), []).append(pkg)
    # fold noarch subpackages into an arch build of the same source
    # (a noarch main package cannot carry arch subpackages, so it keeps its own spec)
    out = []
    for (src, tgt), members in list(groups.items()):
        if tgt == "noarch":
            hosts = [k for k in groups if k[0] == src and k[1] != "noarch"]
            src_name = split_nvr(src)[0]
            movable = [p for p in members if p.name != src_name]
            if hosts and movable:
                groups[hosts[0]].extend(movable)
                members[:] = [p for p in members if p.name == src_name]
                if not members:
                    continue
        out.append((src, tgt))
    return [(tgt, groups[(src, tgt)]) for src, tgt in out]


def _one(src: str, what: str, values: set, default):
    """The single explicit value of a source group (subpackages share it), else default."""
    if len(values) > 1:
        raise ValueError("%s: subpackages set different %s values %s" % (src, what, sorted(values)))
    return values.pop() if values else default


def build_rpms(pkgs: List[Pkg], outdir: Path, keys: Dict[str, KeyInfo],
               buildtime: int = 1600000000, buildhost: str = "localhost",
               timings: Optional[Dict[str, float]] = None) -> Dict[str, Path]:
    """Build `pkgs` into `outdir`; returns {nevra: rpm path}. Signs per pkg.sign_key.

    `timings`, if given, receives the seconds spent in rpmbuild and in signing.
    """
    timings = {} if timings is None else timings
    t0 = time.time()
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hostbuild-rpmbuild-"))
    try:
        topdir = work / "top"
        for sub in ("SPECS", "SOURCES", "BUILD", "BUILDROOT", "RPMS", "SRPMS"):
            (topdir / sub).mkdir(parents=True)   # up front: parallel rpmbuilds race on mkdir
        batches: Dict[Tuple[str, int, str], List[Path]] = OrderedDict()
        pkg_time: Dict[str, int] = {}
        for i, (target, members) in enumerate(group_by_source(pkgs)):
            src_name, src_ver, src_rel = split_nvr(members[0].source_nvr)
            spec = topdir / "SPECS" / ("%05d-%s.spec" % (i, src_name))
            spec.write_text(render_spec(members, target))
            broot = topdir / "BUILDROOT" / ("%s-%s-%s.%s" % (src_name, src_ver, src_rel,
                                                            _arch_dir(target, work)))
            if broot.exists():
                raise ValueError("two specs share buildroot %s" % broot.name)
            stage_payload(members, broot)
            bt = _one(src_name, "buildtime", {p.buildtime for p in members if p.buildtime}, buildtime)
            bh = _one(src_name, "buildhost", {p.buildhost for p in members if p.buildhost}, buildhost)
            batches.setdefault((target, bt, bh), []).append(spec)
            for p in members:
                pkg_time[p.nevra] = bt
        # one wave of parallel rpmbuilds per SOURCE_DATE_EPOCH (it is an env variable)
        by_time: Dict[int, List[List[str]]] = OrderedDict()
        for (target, bt, bh), specs in batches.items():
            for part in chunks(specs, jobs()):
                argv = [which("rpmbuild"), "-bb", "--noclean", "--nocheck", "--noprep",
                        "--nodeps", "--quiet", "--target", target,
                        "--define", "_topdir %s" % topdir,
                        "--define", "_buildhost %s" % bh]
                for d in COMMON_DEFINES:
                    argv += ["--define", d]
                by_time.setdefault(bt, []).append(argv + [str(s) for s in part])
        for bt, cmds in by_time.items():
            for i in range(0, len(cmds), jobs()):
                run_parallel(cmds[i:i + jobs()], env={"SOURCE_DATE_EPOCH": str(bt)})
        built = {p.name: p for p in (topdir / "RPMS").glob("*/*.rpm")}
        result: Dict[str, Path] = {}
        for pkg in pkgs:
            src = built.get(pkg.filename)
            if src is None:
                raise ToolError("rpmbuild did not produce %s" % pkg.filename)
            dest = outdir / pkg.filename
            shutil.move(str(src), str(dest))
            result[pkg.nevra] = dest
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timings["rpmbuild"] = round(time.time() - t0, 3)
    t0 = time.time()
    by_label: Dict[Tuple[str, int], List[Path]] = {}
    for pkg in pkgs:
        if pkg.sign_key:   # signed a few hours after the build, like a real release
            when = pkg_time[pkg.nevra] + SIGN_DELAY
            by_label.setdefault((pkg.sign_key, when), []).append(result[pkg.nevra])
    sign_rpms(by_label, keys)
    _verify_signatures(pkgs, result, keys)
    timings["sign"] = round(time.time() - t0, 3)
    return result


def _verify_signatures(pkgs: List[Pkg], paths: Dict[str, Path], keys: Dict[str, KeyInfo]) -> None:
    if not pkgs:
        return
    files = [str(paths[p.nevra]) for p in pkgs]
    out = run([which("rpm"), "-qp", "--nosignature", "--nodigest", "--qf",
               "%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}\n"] + files).stdout.decode().splitlines()
    if len(out) != len(pkgs):
        raise ToolError("rpm -qp returned %d lines for %d packages" % (len(out), len(pkgs)))
    for pkg, line in zip(pkgs, out):
        want = keys[pkg.sign_key].keyid if pkg.sign_key else None
        if want is None:
            if line != "(none)|(none)":
                raise ToolError("%s should be unsigned, has %s" % (pkg.nvra, line))
        elif line.count("Key ID %s" % want) != 2:
            raise ToolError("%s not signed with %s: %s" % (pkg.nvra, pkg.sign_key, line))
