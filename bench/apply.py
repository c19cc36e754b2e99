#!/usr/bin/env python3
"""Benchmark: the executor's own overhead during `migrate apply` on the swap test host.

Goal (executor issue): what the executor adds beyond the dnf/rpm commands it runs is under
10% of the apply time. The test host is tests/hosts/swap.py (CentOS 8-like root installed by
real dnf) migrated to the OpenCloudOS 8-like test repo, on a fresh copy per run.

Measured in-process, so every command is timed where it runs: each Runner.run call (the
plan's commands and the executor's own queries: rpm -q, rpm -qa, rpm -e --test, ...) is
summed by program, and the assessment apply re-runs first (collector + checks, the same
work as `migrate assess`) is timed apart. The interpreter start and imports of a real
`migrate apply` process are measured in a subprocess and added.

    apply time        = wall (in-process) + interpreter start
    executor overhead = apply time - dnf/rpm commands - the plan's cp/mkdir/mv/install
                        - the assessment - the interpreter start
                        (journal writes with fsync, planning, the runner, argument parsing)
    everything else   = apply time - dnf/rpm commands (also printed, as the strict reading)

    .venv/bin/python bench/apply.py [--runs 5]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from hostbuild import build_host  # noqa: E402
from hosts import swap  # noqa: E402


def startup_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import migrate.cli, migrate.plan.cli"], check=True, cwd=str(REPO))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def one_apply(host_root: Path, source: Path, target: Path) -> Dict[str, float]:
    from migrate.cli import main
    from migrate.plan import cli as plan_cli
    from migrate.plan import runner as runner_mod

    by_program: Dict[str, float] = defaultdict(float)
    original = runner_mod.LocalRunner.run

    def timed_run(self, argv, env=None, timeout=None, watch=None):  # type: ignore[no-untyped-def]
        res = original(self, argv, env=env, timeout=timeout, watch=watch)
        by_program[Path(argv[0]).name] += res.duration_s
        return res

    assess_original = plan_cli._assess

    def timed_assess(*a, **k):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return assess_original(*a, **k)
        finally:
            by_program["(assessment)"] += time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(host_root, root, symlinks=True)
        argv = ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1", "--root", str(root),
                "--target-repo", str(target), "--source-repo", str(source), "--no-gpgcheck"]
        runner_mod.LocalRunner.run = timed_run  # type: ignore[method-assign]
        plan_cli._assess = timed_assess  # type: ignore[assignment]
        try:
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                started = time.perf_counter()
                code = main(argv)
                wall = time.perf_counter() - started
        finally:
            runner_mod.LocalRunner.run = original  # type: ignore[method-assign]
            plan_cli._assess = assess_original  # type: ignore[assignment]
        if code != 0:
            raise SystemExit("apply failed (%d):\n%s" % (code, sink.getvalue()[-2000:]))
    out = {"wall": wall, "dnf_rpm": by_program["dnf"] + by_program["rpm"],
           "assessment": by_program["(assessment)"],
           "other_cmds": sum(v for k, v in by_program.items() if k not in ("dnf", "rpm", "(assessment)"))}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    host = build_host(swap.swap_host_spec())
    source, target = swap.source_repo(), swap.target_repo()
    one_apply(host.root, source, target)   # warm: imports, page cache, dnf's metadata code paths
    runs: List[Dict[str, float]] = [one_apply(host.root, source, target) for _ in range(args.runs)]
    startup = startup_seconds(args.runs)
    # per run, then the median: the parts of one run add up
    totals = [r["wall"] + startup for r in runs]
    executor = [r["wall"] - r["dnf_rpm"] - r["other_cmds"] - r["assessment"] for r in runs]
    strict = [t - r["dnf_rpm"] for t, r in zip(totals, runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    total = statistics.median(totals)
    print("migrate apply on the swap test host (%d packages), median of %d runs"
          % (len(swap.swap_source_packages()), args.runs))
    print("  apply wall time (in-process)       %7.3f s" % med["wall"])
    print("  + interpreter start and imports    %7.3f s" % startup)
    print("  = apply time                       %7.3f s" % total)
    print("  in dnf/rpm commands                %7.3f s" % med["dnf_rpm"])
    print("  in the plan's cp/mkdir/mv/install  %7.3f s" % med["other_cmds"])
    print("  in the assessment (as `assess`)    %7.3f s" % med["assessment"])
    print("  executor overhead (journal, plan,  %7.3f s = %.1f%% of the apply time (goal < 10%%)"
          % (statistics.median(executor), 100.0 * statistics.median(e / t for e, t in zip(executor, totals))))
    print("    runner, parsing)")
    print("  everything but dnf/rpm             %7.3f s = %.1f%%"
          % (statistics.median(strict), 100.0 * statistics.median(x / t for x, t in zip(strict, totals))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
