"""Benchmark: the fleet dashboard over 5,000 per-host JSON reports.

Generates the reports once (cached by parameters under tests/.cache/bench/): each is a
real envelope of the bundled example host (``examples/centos8-k8s.facts.json``
assessed in-process, facts included, written as ``migrate assess -o`` writes it),
with its own hostname and a varied set of findings (blockers, warnings, info,
waived), verdicts, incomplete results, per-host HTML next to a tenth of them and
a few malformed/non-report files. Then times ``render_fleet`` (median of --runs)
and prints the time and the size of the HTML.

Goal: under 3 s and under 10 MB at 5,000 hosts.

    .venv/bin/python bench/report_fleet.py [--hosts 5000] [--runs 5] [--no-facts]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from typing import Any, Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(REPO, "examples", "centos8-k8s.facts.json")
GENERATOR = 3  # part of the cache directory name: bump when the generated reports change

FINDING_POOL = [  # (id, severity, title)
    ("kmod.unavailable_in_target", "blocker", "Kernel module not available in the target kernel"),
    ("packages.unavailable_in_target", "warning", "Packages not available in the target"),
    ("repos.third_party_el8_only", "warning", "Third-party repository publishes EL8 builds only"),
    ("system.disk_space_low", "blocker", "Not enough free space in /var"),
    ("ebpf.cilium_kernel_too_old", "blocker", "Cilium needs kernel features the target lacks"),
    ("crypto.sm2_not_in_openssl", "warning", "SM2 is not available in the target OpenSSL"),
    ("system.secure_boot_unsigned", "blocker", "Secure Boot with unsigned out-of-tree modules"),
    ("packages.removed_in_target", "info", "Packages removed in the target"),
    ("system.selinux_disabled", "info", "SELinux is disabled"),
    ("repos.duplicate_repo_id", "warning", "The same repository id is defined twice"),
    ("pkgmgr.rpmdb_locked", "blocker", "The rpm database is locked by a running process"),
    ("kmod.dkms_rebuild_needed", "warning", "DKMS modules must be rebuilt for the target kernel"),
]


def base_report() -> Dict[str, Any]:
    """One real envelope of the example host (facts included), built in-process."""
    sys.path.insert(0, REPO)
    from migrate.engine import assess
    from migrate.facts import load_facts
    from migrate.manifests import load_manifest
    from migrate.reports.json_report import build_report

    assessment = assess(load_facts(EXAMPLE), load_manifest("opencloudos-8"))
    return json.loads(json.dumps(build_report(assessment)))


def finding(fid: str, severity: str, title: str, subjects: List[str], waived: bool) -> Dict[str, Any]:
    return {"id": fid, "severity": severity, "title": title, "check_id": fid.rsplit(".", 1)[0] + ".check",
            "summary": "%s on this host: %s." % (title, ", ".join(subjects)), "subjects": subjects,
            "overridable": severity != "blocker", "links": [],
            "remediation": {"hint": "See the runbook for %s." % fid,
                            "commands": [["dnf", "remove", "-y", subjects[0]]], "playbook_task": None},
            "waived": waived, "waiver_reasons": ["CHG-1234"] if waived else [], "waived_subjects": []}


def vary(base: Dict[str, Any], index: int, rng: random.Random, with_facts: bool) -> Dict[str, Any]:
    report = dict(base)
    hostname = "node-%05d.dc%d.example.internal" % (index, index % 4)
    report["host"] = dict(base["host"], hostname=hostname)
    findings = [f for f in base["findings"]
                if f["id"].startswith("system.migration_") or rng.random() < 0.4]
    for fid, severity, title in rng.sample(FINDING_POOL, rng.choice([0, 0, 1, 1, 2, 3, 5])):
        findings.append(finding(fid, severity, title, ["pkg-%d" % rng.randrange(50)],
                                waived=rng.random() < 0.1))
    live = [f for f in findings if not f["waived"]]
    counts = {s: sum(1 for f in live if f["severity"] == s) for s in ("blocker", "warning", "info")}
    checks = list(base["checks"])
    complete = rng.random() < 0.7
    if complete:
        checks = [dict(c, status="passed", reason="") if c["status"] == "skipped" else c for c in checks]
    report.update(findings=findings, checks=checks, summary=dict(
        base["summary"], blockers=counts["blocker"], warnings=counts["warning"], info=counts["info"],
        waived=sum(1 for f in findings if f["waived"]), complete=complete,
        verdict="blocked" if counts["blocker"] else "ready_with_warnings" if counts["warning"] else "ready"))
    if not with_facts:
        report.pop("facts", None)
    return report


def generate(directory: str, hosts: int, with_facts: bool) -> None:
    marker = os.path.join(directory, ".complete")
    if os.path.exists(marker):
        return
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(20261123)
    base = base_report()
    started = time.perf_counter()
    for i in range(hosts):
        report = vary(base, i, rng, with_facts)
        name = report["host"]["hostname"]
        with open(os.path.join(directory, name + ".json"), "w", encoding="utf-8") as handle:
            handle.write(json.dumps(report, sort_keys=True) + "\n")
        if i % 10 == 0:
            with open(os.path.join(directory, name + ".html"), "w") as handle:
                handle.write("<!DOCTYPE html><title>%s</title>\n" % name)
    for i, text in enumerate(['{"schema_version": 1, "summ', "", '{"host": "db-%d", "error": "ssh: timed out"}'
                              % 7, "[1, 2]", '{"schema_version": 99}']):
        with open(os.path.join(directory, "broken-%d.json" % i), "w") as handle:
            handle.write(text)
    open(marker, "w").close()
    print("generated %d reports in %s (%.1f s)" % (hosts, directory, time.perf_counter() - started),
          file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-facts", action="store_true", help="reports written without facts")
    parser.add_argument("--dir", help="where to generate the reports (default: tests/.cache/bench/...)")
    args = parser.parse_args()
    directory = args.dir or os.path.join(REPO, "tests", ".cache", "bench", "fleet-v%d-%d-%s" % (
        GENERATOR, args.hosts, "nofacts" if args.no_facts else "facts"))
    generate(directory, args.hosts, not args.no_facts)
    sys.path.insert(0, REPO)
    from migrate.reports.fleet import fleet_model, render_fleet

    size = sum(os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory)
               if n.endswith(".json"))
    times, load_times, html = [], [], ""
    for _ in range(args.runs):
        started = time.perf_counter()
        model = fleet_model(directory)
        loaded = time.perf_counter()
        html = render_fleet(directory, model)
        times.append(time.perf_counter() - started)
        load_times.append(loaded - started)
    out = len(html.encode("utf-8"))
    median = statistics.median(times)
    print("reports: %d files, %.0f MB of JSON (%s)" % (model["total"], size / 1e6,
                                                      "without facts" if args.no_facts else "with facts"))
    print("hosts: %d assessed, %d could not be assessed; %d blocked" % (
        model["assessed"], len(model["unassessed"]), model["by_verdict"]["blocked"]))
    print("render_fleet (median of %d): %.2f s (reading %.2f s, rendering %.2f s)   goal < 3 s: %s" % (
        args.runs, median, statistics.median(load_times), median - statistics.median(load_times),
        "met" if median < 3 else "NOT met"))
    print("output: %.2f MB   goal < 10 MB: %s" % (out / 1e6, "met" if out < 10e6 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
