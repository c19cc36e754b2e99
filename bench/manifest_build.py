#!/usr/bin/env python3
"""Benchmark: `build_snapshot` against `dnf makecache` on one 10,000-package repository.

Building 10,000 real RPMs takes too long for a benchmark, so the repository's
metadata is generated directly, shaped like createrepo_c's output (same elements
and attributes, sha256 pkgids, `<rpm:requires>` and primary's `<file>` subset,
type="dir" entries in filelists, a kernel-core/kernel-modules/kernel-modules-extra
trio owning 6,000 `.ko.xz` files, file counts per package drawn from a heavy-tailed
distribution so a few packages own thousands of files), gzip-compressed, with
primary, filelists and other listed in repomd.xml with correct checksums and sizes.
No package files exist: neither side reads them. The repository is cached under
tests/.cache/bench/ (keyed by the parameters and this file's content).

Each side runs in its own process, timed from outside (wall, and peak RSS from
os.wait4's rusage of that child), N runs interleaved, median reported:

- `build_snapshot([REPO], OUT)` in a fresh interpreter (imports included), plus
  `load_target_packages(OUT)` of the written snapshot;
- `dnf makecache` on the same repository, `--repofrompath`, a private cachedir
  and installroot (fresh each run), `--setopt=reposdir=/nonexistent`, a private
  HOME whose .rpmmacros points %_dbpath inside the installroot, no plugins.

Goal: build_snapshot under 5 s and 200 MB peak RSS. Prints figures, asserts nothing.

    .venv/bin/python bench/manifest_build.py [--packages 10000] [--files 200000] [--runs 3]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "tests" / ".cache" / "bench"
KVER = "4.18.0-348.el8.x86_64"
WORDS = ("alpha", "bravo", "cairo", "delta", "echo", "fox", "glib", "hunspell", "icu", "json", "krb5",
         "lvm", "mesa", "nss", "openldap", "pam", "qt", "rsync", "sssd", "tcl", "udisks", "vim", "wget",
         "xorg", "yum", "zlib")
FAMILIES = ("", "lib", "python3-", "perl-", "golang-", "rubygem-", "texlive-", "")
COMMON_REQUIRES = ("libc.so.6()(64bit)", "libc.so.6(GLIBC_2.2.5)(64bit)", "rtld(GNU_HASH)",
                   "libpthread.so.0()(64bit)", "libm.so.6()(64bit)", "libz.so.1()(64bit)",
                   "/bin/sh", "libcrypto.so.1.1()(64bit)", "libssl.so.1.1()(64bit)",
                   "libselinux.so.1()(64bit)", "libsystemd.so.0()(64bit)", "glibc", "bash",
                   "python3-libs", "perl-libs")


# -- the generated repository ------------------------------------------------------------

class Spec:
    def __init__(self, name, epoch, version, release, arch, files, dirs, provides, requires):
        self.name, self.epoch, self.version, self.release, self.arch = name, epoch, version, release, arch
        self.files, self.dirs, self.provides, self.requires = files, dirs, provides, requires
        self.pkgid = hashlib.sha256(("%s-%d:%s-%s.%s" % (name, epoch, version, release, arch)).encode()).hexdigest()


def _file_counts(rng: random.Random, n: int, total: int):
    weights = [rng.paretovariate(1.3) for _ in range(n)]
    scale = total / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    diff = total - sum(counts)
    i = 0
    while diff != 0:  # spread the rounding error one file at a time
        j = i % n
        if diff > 0:
            counts[j] += 1
            diff -= 1
        elif counts[j] > 1:
            counts[j] -= 1
            diff += 1
        i += 1
    return counts


def generate_specs(n_packages: int, n_files: int, seed: int = 7):
    rng = random.Random(seed)
    specs = []
    kdir = "/lib/modules/%s/kernel/" % KVER
    subsystems = ("drivers/net/ethernet/%s", "drivers/scsi/%s", "drivers/gpu/drm/%s", "fs/%s", "net/%s",
                  "drivers/infiniband/hw/%s", "sound/pci/%s", "crypto/%s")
    module_files = 0
    for name, count in (("kernel-core", 1000), ("kernel-modules", 4000), ("kernel-modules-extra", 1000)):
        files = ["%s%s/m%s_%d.ko.xz" % (kdir, rng.choice(subsystems) % rng.choice(WORDS), name[7:10], k)
                 for k in range(count)]
        module_files += count
        provides = ["%s = 4.18.0-348.el8" % name, "%s(x86-64) = 4.18.0-348.el8" % name,
                    "kernel-uname-r = %s" % KVER] + (["kernel = 4.18.0-348.el8"] if name == "kernel-core" else [])
        specs.append(Spec(name, 0, "4.18.0", "348.el8", "x86_64", files,
                          ["/lib/modules/%s" % KVER], provides, ["kernel-core-uname-r = %s" % KVER]))
    rest = n_packages - len(specs)
    counts = _file_counts(rng, rest, n_files - module_files)
    for i in range(rest):
        family = FAMILIES[i % len(FAMILIES)]
        name = "%s%s%d" % (family, rng.choice(WORDS), i)
        arch = "noarch" if family in ("python3-", "perl-", "texlive-") or i % 7 == 0 else \
            ("i686" if i % 23 == 0 else "x86_64")
        epoch = rng.choice((1, 2, 3)) if i % 10 == 0 else 0
        version = "%d.%d.%d" % (rng.randint(0, 9), rng.randint(0, 30), rng.randint(0, 99))
        release = "%d.el8" % rng.randint(1, 40)
        evr = ("%d:" % epoch if epoch else "") + "%s-%s" % (version, release)
        base = "/usr/share/%s" % name if arch == "noarch" else "/usr/lib64/%s" % name
        files = []
        for k in range(counts[i]):
            kind = k % 5
            if kind == 0 and k < 3:
                files.append("/usr/bin/%s-%d" % (name, k))
            elif kind == 1 and k < 5:
                files.append("/etc/%s/%s-%d.conf" % (name, name, k))
            else:
                files.append("%s/%s/file-%d.dat" % (base, rng.choice(WORDS), k))
        provides = ["%s = %s" % (name, evr)]
        if arch != "noarch":
            provides.append("%s(%s) = %s" % (name, "x86-32" if arch == "i686" else "x86-64", evr))
        if family == "lib" or i % 3 == 0:
            for so in range(rng.randint(1, 3)):
                provides.append("lib%s%d_%d.so.%d()(64bit)" % (name, i, so, rng.randint(0, 9)))
        if family == "perl-":
            provides.append("perl(%s::%s) = %s" % (name.capitalize(), rng.choice(WORDS), version))
        if family == "python3-":
            provides.append("python3.6dist(%s) = %s" % (name[8:], version))
        requires = rng.sample(COMMON_REQUIRES, rng.randint(3, 10))
        specs.append(Spec(name, epoch, version, release, arch, files, [base], provides, requires))
    return specs


def _entry(text: str) -> str:
    """An <rpm:entry> for 'name [OP [E:]V[-R]]' as createrepo_c writes it."""
    parts = text.split(" ")
    if len(parts) == 1:
        return '<rpm:entry name=%s/>' % quoteattr(parts[0])
    name, op, evr = parts
    flags = {"=": "EQ", "<": "LT", ">": "GT", "<=": "LE", ">=": "GE"}[op]
    epoch, _, vr = evr.rpartition(":")
    ver, _, rel = vr.partition("-")
    rel_attr = ' rel=%s' % quoteattr(rel) if rel else ""
    return '<rpm:entry name=%s flags="%s" epoch="%s" ver=%s%s/>' % (
        quoteattr(name), flags, epoch or "0", quoteattr(ver), rel_attr)


def _primary(spec: Spec) -> str:
    primary_files = [f for f in spec.files if f.startswith(("/usr/bin/", "/etc/"))]
    return "".join((
        '<package type="rpm">\n  <name>%s</name>\n  <arch>%s</arch>\n' % (escape(spec.name), spec.arch),
        '  <version epoch="%d" ver="%s" rel="%s"/>\n' % (spec.epoch, spec.version, spec.release),
        '  <checksum type="sha256" pkgid="YES">%s</checksum>\n' % spec.pkgid,
        '  <summary>The %s package</summary>\n' % escape(spec.name),
        '  <description>%s provides files &amp; things for benchmarks.</description>\n' % escape(spec.name),
        '  <packager>Bench &lt;bench@example.invalid&gt;</packager>\n  <url>https://example.invalid/</url>\n',
        '  <time file="1700000000" build="1690000000"/>\n',
        '  <size package="%d" installed="%d" archive="%d"/>\n' % (len(spec.files) * 900, len(spec.files) * 4000,
                                                                len(spec.files) * 4100),
        '  <location href="Packages/%s-%s-%s.%s.rpm"/>\n' % (spec.name, spec.version, spec.release, spec.arch),
        '  <format>\n    <rpm:license>GPLv2+</rpm:license>\n    <rpm:vendor>Bench</rpm:vendor>\n',
        '    <rpm:group>Unspecified</rpm:group>\n    <rpm:buildhost>build.example.invalid</rpm:buildhost>\n',
        '    <rpm:sourcerpm>%s-%s-%s.src.rpm</rpm:sourcerpm>\n' % (spec.name, spec.version, spec.release),
        '    <rpm:header-range start="4504" end="%d"/>\n' % (6000 + len(spec.files) * 40),
        '    <rpm:provides>\n%s    </rpm:provides>\n' % "".join("      %s\n" % _entry(p) for p in spec.provides),
        '    <rpm:requires>\n%s    </rpm:requires>\n' % "".join("      %s\n" % _entry(r) for r in spec.requires),
        "".join("    <file>%s</file>\n" % escape(f) for f in primary_files),
        '  </format>\n</package>\n'))


def _filelists(spec: Spec) -> str:
    return "".join((
        '<package pkgid="%s" name=%s arch="%s">\n' % (spec.pkgid, quoteattr(spec.name), spec.arch),
        '  <version epoch="%d" ver="%s" rel="%s"/>\n' % (spec.epoch, spec.version, spec.release),
        "".join('  <file type="dir">%s</file>\n' % escape(d) for d in spec.dirs),
        "".join("  <file>%s</file>\n" % escape(f) for f in spec.files),
        "</package>\n"))


def _other(spec: Spec) -> str:
    return ('<package pkgid="%s" name=%s arch="%s">\n  <version epoch="%d" ver="%s" rel="%s"/>\n'
            '  <changelog author="Bench &lt;bench@example.invalid&gt; - %s-%s" date="1690000000">- Rebuilt'
            '</changelog>\n</package>\n' % (spec.pkgid, quoteattr(spec.name), spec.arch, spec.epoch, spec.version,
                                            spec.release, spec.version, spec.release))


def _write_xml(repodata: Path, kind: str, header: str, footer: str, chunks) -> dict:
    raw = tempfile.NamedTemporaryFile(dir=repodata, delete=False)
    open_hash, open_size = hashlib.sha256(), 0
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        for text in itertools.chain([header], chunks, [footer]):
            data = text.encode("utf-8")
            open_hash.update(data)
            open_size += len(data)
            gz.write(data)
    raw.close()
    digest = hashlib.sha256(Path(raw.name).read_bytes()).hexdigest()
    href = "repodata/%s-%s.xml.gz" % (digest, kind)
    os.replace(raw.name, repodata.parent / href)
    return {"type": kind, "checksum": digest, "open_checksum": open_hash.hexdigest(), "href": href,
            "size": (repodata.parent / href).stat().st_size, "open_size": open_size}


def write_repo(dest: Path, specs) -> None:
    repodata = dest / "repodata"
    repodata.mkdir(parents=True)
    ns = 'xmlns="http://linux.duke.edu/metadata/%s"'
    rpm_ns = ' xmlns:rpm="http://linux.duke.edu/metadata/rpm"'
    n = len(specs)
    datas = [
        _write_xml(repodata, "primary", '<?xml version="1.0" encoding="UTF-8"?>\n<metadata %s%s packages="%d">\n'
                   % (ns % "common", rpm_ns, n), "</metadata>\n", (_primary(s) for s in specs)),
        _write_xml(repodata, "filelists", '<?xml version="1.0" encoding="UTF-8"?>\n<filelists %s packages="%d">\n'
                   % (ns % "filelists", n), "</filelists>\n", (_filelists(s) for s in specs)),
        _write_xml(repodata, "other", '<?xml version="1.0" encoding="UTF-8"?>\n<otherdata %s packages="%d">\n'
                   % (ns % "other", n), "</otherdata>\n", (_other(s) for s in specs)),
    ]
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<repomd %s%s>\n  <revision>1700000000</revision>\n'
             % (ns % "repo", rpm_ns)]
    for d in datas:
        parts.append(
            '  <data type="%(type)s">\n    <checksum type="sha256">%(checksum)s</checksum>\n'
            '    <open-checksum type="sha256">%(open_checksum)s</open-checksum>\n'
            '    <location href="%(href)s"/>\n    <timestamp>1700000000</timestamp>\n'
            '    <size>%(size)d</size>\n    <open-size>%(open_size)d</open-size>\n  </data>\n' % d)
    parts.append("</repomd>\n")
    (repodata / "repomd.xml").write_text("".join(parts))


def bench_repo(n_packages: int, n_files: int) -> Path:
    key = hashlib.sha256(Path(__file__).read_bytes() + b"%d/%d" % (n_packages, n_files)).hexdigest()[:12]
    dest = BENCH_DIR / ("repo-%d-%d-%s" % (n_packages, n_files, key))
    if (dest / "repodata" / "repomd.xml").exists():
        return dest
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gen-", dir=BENCH_DIR))
    started = time.perf_counter()
    write_repo(tmp, generate_specs(n_packages, n_files))
    os.replace(tmp, dest)
    print("generated %s in %.1f s" % (dest, time.perf_counter() - started), file=sys.stderr)
    return dest


# -- measuring ------------------------------------------------------------------------------

def measure_child(argv, env=None):
    """Run argv; wall seconds, peak RSS (MiB) of that child alone (os.wait4: RUSAGE_CHILDREN
    would mix in earlier children), and its stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Read stdout/stderr fully before reaping, so the pipe cannot block the child.
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(argv[:3]), proc.returncode, err.decode()[-800:]))
    return wall, usage.ru_maxrss / 1024.0, out.decode()


BUILD_CHILD = """
import json, sys, time
t = time.perf_counter()
from migrate.snapshot import build_snapshot
s = build_snapshot([sys.argv[1]], sys.argv[2])
print(json.dumps({"inner": time.perf_counter() - t, "packages": s.packages, "modules": s.module_paths}))
"""
LOAD_CHILD = """
import json, sys, time
t = time.perf_counter()
from migrate.snapshot import load_target_packages
s = load_target_packages(sys.argv[1])
t1 = time.perf_counter()
s.providers("libc.so.6()(64bit)"); s.module_providers("e1000e"); s.newest("kernel-core")
print(json.dumps({"inner": t1 - t, "indexes": time.perf_counter() - t1, "packages": len(s)}))
"""


def dnf_argv(repo: Path, work: Path):
    return ["dnf", "-q", "--repofrompath=bench,file://%s" % repo, "--repo=bench",
            "--setopt=reposdir=/nonexistent", "--setopt=cachedir=%s" % (work / "cache"),
            "--installroot=%s" % (work / "root"), "--releasever=8", "--noplugins", "makecache"]


def dnf_env(work: Path):
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    # Debian's rpm otherwise keeps its database in ~/.rpmdb, outside the installroot.
    (home / ".rpmmacros").write_text("%_dbpath /var/lib/rpm\n")
    env = dict(os.environ, HOME=str(home))
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=int, default=10000)
    parser.add_argument("--files", type=int, default=200000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo = bench_repo(args.packages, args.files)
    python = sys.executable
    results = {"build": [], "build_rss": [], "build_inner": [], "load": [], "load_rss": [], "load_inner": [],
               "dnf": [], "dnf_rss": []}
    info = {}
    with tempfile.TemporaryDirectory(prefix="bench-manifest-") as tmp:
        tmp = Path(tmp)
        out = tmp / "snapshot.json.gz"
        for run in range(args.runs):
            wall, rss, text = measure_child([python, "-c", BUILD_CHILD, str(repo), str(out)])
            info.update(json.loads(text))
            results["build"].append(wall)
            results["build_rss"].append(rss)
            results["build_inner"].append(info["inner"])
            wall, rss, text = measure_child([python, "-c", LOAD_CHILD, str(out)])
            load = json.loads(text)
            results["load"].append(wall)
            results["load_rss"].append(rss)
            results["load_inner"].append(load["inner"])
            info["indexes"] = load["indexes"]
            work = tmp / ("dnf-%d" % run)
            wall, rss, _ = measure_child(dnf_argv(repo, work), env=dnf_env(work))
            results["dnf"].append(wall)
            results["dnf_rss"].append(rss)
            shutil.rmtree(work, ignore_errors=True)
        snapshot_size = out.stat().st_size
    med = {k: statistics.median(v) for k, v in results.items()}
    sizes = {p.name.split("-", 1)[1]: p.stat().st_size for p in (repo / "repodata").glob("*.xml.gz")}
    print("repository: %s" % repo)
    print("  %d packages, %d files (%d kernel modules); primary %.1f MB, filelists %.1f MB gzipped"
          % (args.packages, args.files, info["modules"], sizes["primary.xml.gz"] / 1e6,
             sizes["filelists.xml.gz"] / 1e6))
    print("  snapshot: %d packages, %.2f MB (.json.gz)" % (info["packages"], snapshot_size / 1e6))
    print("%-44s %9s %11s" % ("median of %d runs" % args.runs, "seconds", "peak RSS"))
    print("%-44s %9.2f %8.0f MB" % ("build_snapshot (process)", med["build"], med["build_rss"]))
    print("%-44s %9.2f" % ("  of which build_snapshot() itself", med["build_inner"]))
    print("%-44s %9.2f %8.0f MB" % ("dnf makecache (process)", med["dnf"], med["dnf_rss"]))
    print("%-44s %9.2f %8.0f MB" % ("load_target_packages(snapshot) (process)", med["load"], med["load_rss"]))
    print("%-44s %9.3f" % ("  of which load itself", med["load_inner"]))
    print("%-44s %9.3f" % ("  first lookups (builds the indexes)", info["indexes"]))
    print("ratio build_snapshot / dnf makecache: %.2fx" % (med["build"] / med["dnf"]))
    print("goal: build_snapshot < 5 s and < 200 MB peak RSS")


if __name__ == "__main__":
    main()
