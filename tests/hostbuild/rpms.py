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

import os
import shutil
import tempfile
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

COMMON_DEFINES = [
    "_build_id_links none",
    "__check_files %{nil}",
    "_binary_payload w2.xzdio",
    "_binary_filedigest_algorithm 8",
    "_target_platform %{_target_cpu}-redhat-linux-gnu",
    "use_source_date_epoch_as_buildtime 1",
    "debug_package %{nil}",
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
    out = []
    for (src, tgt), members in groups.items():
        if tgt == "noarch":
            hosts = [k for k in groups if k[0] == src and k[1] != "noarch"]
            if hosts:
                groups[hosts[0]].extend(members)
                continue
        out.append((src, tgt))
    return [(tgt, groups[(src, tgt)]) for src, tgt in out]


def build_rpms(pkgs: List[Pkg], outdir: Path, keys: Dict[str, KeyInfo],
               buildtime: int = 1600000000, buildhost: str = "localhost") -> Dict[str, Path]:
    """Build `pkgs` into `outdir`; returns {nevra: rpm path}. Signs per pkg.sign_key."""
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hostbuild-rpmbuild-"))
    try:
        topdir = work / "top"
        (topdir / "SPECS").mkdir(parents=True)
        batches: Dict[Tuple[str, int, str], List[Path]] = OrderedDict()
        for i, (target, members) in enumerate(group_by_source(pkgs)):
            src_name, src_ver, src_rel = split_nvr(members[0].source_nvr)
            spec = topdir / "SPECS" / ("%05d-%s.spec" % (i, src_name))
            spec.write_text(render_spec(members, target))
            broot = topdir / "BUILDROOT" / ("%s-%s-%s.%s" % (src_name, src_ver, src_rel,
                                                            _arch_dir(target, work)))
            if broot.exists():
                raise ValueError("two specs share buildroot %s" % broot.name)
            stage_payload(members, broot)
            bt = members[0].buildtime or buildtime
            bh = members[0].buildhost or buildhost
            if any((p.buildtime or buildtime, p.buildhost or buildhost) != (bt, bh) for p in members):
                raise ValueError("%s: subpackages disagree on buildtime/buildhost" % src_name)
            batches.setdefault((target, bt, bh), []).append(spec)
        argvs = []
        envs = []
        for (target, bt, bh), specs in batches.items():
            for part in chunks(specs, jobs()):
                argv = [which("rpmbuild"), "-bb", "--noclean", "--nocheck", "--noprep",
                        "--nodeps", "--quiet", "--target", target,
                        "--define", "_topdir %s" % topdir,
                        "--define", "_buildhost %s" % bh]
                for d in COMMON_DEFINES:
                    argv += ["--define", d]
                argvs.append(argv + [str(s) for s in part])
                envs.append({"SOURCE_DATE_EPOCH": str(bt)})
        # group commands by env so each wave shares one SOURCE_DATE_EPOCH
        by_env: Dict[str, List[List[str]]] = OrderedDict()
        for argv, env in zip(argvs, envs):
            by_env.setdefault(env["SOURCE_DATE_EPOCH"], []).append(argv)
        for sde, cmds in by_env.items():
            for i in range(0, len(cmds), jobs()):
                run_parallel(cmds[i:i + jobs()], env={"SOURCE_DATE_EPOCH": sde})
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
    by_label: Dict[str, List[Path]] = {}
    for pkg in pkgs:
        if pkg.sign_key:
            by_label.setdefault(pkg.sign_key, []).append(result[pkg.nevra])
    sign_rpms(by_label, keys)
    _verify_signatures(pkgs, result, keys)
    return result


def _verify_signatures(pkgs: List[Pkg], paths: Dict[str, Path], keys: Dict[str, KeyInfo]) -> None:
    if not pkgs:
        return
    files = [str(paths[p.nevra]) for p in pkgs]
    out = run([which("rpm"), "-qp", "--nosignature", "--nodigest", "--qf",
               "%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}\n"] + files).stdout.decode().splitlines()
    for pkg, line in zip(pkgs, out):
        want = keys[pkg.sign_key].keyid if pkg.sign_key else None
        if want is None:
            if line != "(none)|(none)":
                raise ToolError("%s should be unsigned, has %s" % (pkg.nvra, line))
        elif line.count("Key ID %s" % want) != 2:
            raise ToolError("%s not signed with %s: %s" % (pkg.nvra, pkg.sign_key, line))
