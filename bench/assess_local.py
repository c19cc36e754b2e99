#!/usr/bin/env python3
"""Benchmark: `migrate assess --root R` against `rpm -qa` on the same 1,500-package root.

`rpm --root R --dbpath /var/lib/rpm -qa` is the floor: assessing a host cannot be
faster than reading its package inventory. Goal (foundation issue): assess takes
at most 2x the time of rpm -qa. Prints each median of N runs and the ratios.

    .venv/bin/python bench/assess_local.py [--packages 1500] [--runs 5]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from hostbuild import build_host, synthetic_host  # noqa: E402

OS_RELEASE = (REPO.parent / "shared/data/samples/os-release/centos8.1.os-release")
BENCH_DIR = REPO / "tests" / ".cache" / "bench"


def installed_migrate() -> list[str]:
    """migrate as users run it: a wheel installed in its own venv (bytecode compiled at
    install time), not the editable development install."""
    wheels = BENCH_DIR / "wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(REPO)], check=True)
    venv = BENCH_DIR / "venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    "--force-reinstall", "--no-deps", str(next(wheels.glob("*.whl"))), "PyYAML"],
                   check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    link = Path(site) / "rpm"
    if not link.exists():
        link.symlink_to("/usr/lib/python3/dist-packages/rpm")
    return [str(venv / "bin" / "migrate")]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 3):  # 3 = blockers found, a normal assessment result
        raise SystemExit("%s failed (%d): %s" % (argv[0], proc.returncode, proc.stderr.decode()[-500:]))
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--target", default="opencloudos-8")
    args = parser.parse_args()

    spec = synthetic_host(args.packages)
    files = dict(spec.files)
    files["/etc/os-release"] = OS_RELEASE.read_text()
    files["/etc/centos-release"] = "CentOS Linux release 8.5.2111\n"
    spec = dataclasses.replace(spec, files=files)
    started = time.perf_counter()
    host = build_host(spec)
    print("root: %s (%d packages, %s in %.1fs)" % (host.root, args.packages,
          "cached" if host.cache_hit else "built", time.perf_counter() - started), file=sys.stderr)

    migrate = installed_migrate()
    root = str(host.root)
    commands = {
        "rpm -qa (floor)": ["rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-qa"],
        # --allow-incomplete: the synthetic root has no /proc and no target repo, so some
        # checks are skipped; the exit code would otherwise be 5 (incomplete).
        "migrate assess": migrate + ["assess", "--root", root, "--target", args.target,
                                     "--allow-incomplete"],
        "migrate assess --json": migrate + ["assess", "--root", root, "--target", args.target, "--json",
                                            "--allow-incomplete"],
        "migrate assess --json (rpm CLI backend)": migrate + ["assess", "--root", root, "--target",
                                                              args.target, "--json", "--rpm-backend", "cli",
                                                              "--allow-incomplete"],
        "migrate collect": migrate + ["collect", "--root", root],
    }
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for argv in commands.values():  # warm the page cache and .pyc files
        timed(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved, so drift hits every command alike
        for name, argv in commands.items():
            samples[name].append(timed(argv))
    floor = statistics.median(samples["rpm -qa (floor)"])
    print("%-42s %10s %8s" % ("command (median of %d)" % args.runs, "seconds", "ratio"))
    for name, values in samples.items():
        median = statistics.median(values)
        print("%-42s %10.3f %7.2fx" % (name, median, median / floor))
    ratio = statistics.median(samples["migrate assess"]) / floor
    print("assess/rpm -qa = %.2fx (goal <= 2.0x): %s" % (ratio, "met" if ratio <= 2.0 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
