#!/usr/bin/env python3
"""Benchmark: the executor's own overhead during `migrate apply` on the swap test host.

Goal (executor issue): what the executor adds beyond the dnf/rpm commands it runs is under
10% of the apply time. The test host is tests/hosts/swap.py (CentOS 8-like root installed by
real dnf) migrated to the OpenCloudOS 8-like test repo, on a fresh copy per run.

Measured in-process, so every command is timed where it runs: each Runner.run call (the
plan's commands and the executor's own queries: rpm -q, rpm -qa, rpm -e --test, ...) is
summed by program. The interpreter start and `import migrate.cli` of a real `migrate apply`
process are measured apart (a subprocess each) and added to the wall time and the overhead.

    overhead = wall + startup - time in dnf/rpm commands
    (also shown: the same with the plan's cp/mkdir/mv/install commands counted as commands)

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
    from migrate.plan import runner as runner_mod

    by_program: Dict[str, float] = defaultdict(float)
    original = runner_mod.LocalRunner.run

    def timed_run(self, argv, env=None, timeout=None, watch=None):  # type: ignore[no-untyped-def]
        res = original(self, argv, env=env, timeout=timeout, watch=watch)
        by_program[Path(argv[0]).name] += res.duration_s
        return res

    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(host_root, root, symlinks=True)
        argv = ["apply", "--yes", "--target", "opencloudos-8", "--min-free-mb", "1", "--root", str(root),
                "--target-repo", str(target), "--source-repo", str(source), "--no-gpgcheck"]
        runner_mod.LocalRunner.run = timed_run  # type: ignore[method-assign]
        try:
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                started = time.perf_counter()
                code = main(argv)
                wall = time.perf_counter() - started
        finally:
            runner_mod.LocalRunner.run = original  # type: ignore[method-assign]
        if code != 0:
            raise SystemExit("apply failed (%d):\n%s" % (code, sink.getvalue()[-2000:]))
    out = {"wall": wall, "dnf_rpm": by_program["dnf"] + by_program["rpm"],
           "other_cmds": sum(v for k, v in by_program.items() if k not in ("dnf", "rpm"))}
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
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    total = med["wall"] + startup
    overhead = total - med["dnf_rpm"]
    overhead_all = total - med["dnf_rpm"] - med["other_cmds"]
    print("migrate apply on the swap test host (%d packages), median of %d runs" % (len(host.spec.packages)
                                                                                   if hasattr(host, "spec") else 8,
                                                                                   args.runs))
    print("  apply wall time (in-process)      %7.3f s" % med["wall"])
    print("  + interpreter start and imports   %7.3f s" % startup)
    print("  = apply time                      %7.3f s" % total)
    print("  in dnf/rpm commands               %7.3f s" % med["dnf_rpm"])
    print("  in the plan's cp/mkdir/mv/install %7.3f s" % med["other_cmds"])
    print("  executor overhead beyond dnf/rpm  %7.3f s = %.1f%% of the apply time (goal < 10%%)"
          % (overhead, 100.0 * overhead / total))
    print("  ... and beyond all commands       %7.3f s = %.1f%%" % (overhead_all, 100.0 * overhead_all / total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
