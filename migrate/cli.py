"""The `migrate` command line. JSON goes to stdout (only with --json), logs to stderr."""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from migrate import __version__, console, exitcodes
from migrate.errors import BadInput, MigrateError


def _add_collect_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpm-backend", choices=("auto", "bindings", "cli"), default="auto",
                        help="read the rpmdb through the python rpm bindings or `rpm -qa` "
                             "(auto: bindings when they import)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S",
                        help="timeout for each command a probe runs (default 30)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migrate", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Assess CentOS hosts for migration to OpenCloudOS or Anolis OS.",
        epilog=exitcodes.HELP)
    parser.add_argument("--version", action="version", version="migrate %s" % __version__)
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("collect", help="collect read-only facts from this host or a root",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", metavar="DIR", help="read a host mounted at DIR instead of /")
    p.add_argument("-o", "--output", metavar="FILE", help="write facts JSON to FILE (default stdout)")
    _add_collect_options(p)

    p = sub.add_parser("assess", help="assess a host (or a facts file) against a target",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--root", metavar="DIR", help="assess a host mounted at DIR")
    where.add_argument("--facts", metavar="FILE", help="assess a facts file from `migrate collect`")
    p.add_argument("--target", required=True, metavar="ID", help="target id (see `migrate targets list`)")
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (.json)")
    p.add_argument("--waivers", metavar="FILE", help="YAML file of accepted findings")
    p.add_argument("--fail-on", choices=("blocker", "warning"), default="blocker",
                   help="exit non-zero on blockers only (default) or on warnings too (exit 4)")
    p.add_argument("--no-facts", action="store_true", help="leave the facts out of the JSON report")
    p.add_argument("--target-repo", action="append", default=[], metavar="URL|DIR|SNAPSHOT",
                   help="the target's repository metadata (repeat for BaseOS, AppStream, ...): a "
                        "repo URL, a local mirror or a snapshot from `migrate manifest build`")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="repodata download cache (default ~/.cache/migrate, or $MIGRATE_CACHE_DIR)")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="exit by the verdict even when a probe failed or a check was skipped "
                        "(the report still says it is incomplete)")
    _add_collect_options(p)

    p = sub.add_parser("checks", help="list the registered checks")
    p.add_argument("action", choices=("list",))
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("targets", help="list the known targets, or show one with its evidence")
    p.add_argument("action", choices=("list", "show"))
    p.add_argument("target", nargs="?", metavar="ID", help="target id (for show)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("manifest", help="validate target manifests",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    msub = p.add_subparsers(dest="manifest_command", metavar="ACTION")
    msub.required = True
    v = msub.add_parser("validate", help="check manifest files against the schema; one line per problem")
    v.add_argument("files", nargs="+", metavar="FILE")
    b = msub.add_parser("build", help="snapshot a target's packages from its real repository metadata")
    b.add_argument("--repo", action="append", required=True, metavar="URL|DIR",
                   help="a repository (directory with repodata/ or http(s) URL); repeatable")
    b.add_argument("-o", "--output", required=True, metavar="SNAPSHOT",
                   help="snapshot file to write (.json or .json.gz)")
    b.add_argument("--cache-dir", metavar="DIR")
    b.add_argument("--timeout", type=float, default=30.0, metavar="S")
    b.add_argument("--retries", type=int, default=3)
    return parser


def _print_json(data: object) -> None:
    # No indent: only then does json use its C encoder (a 1,500-package report is 1 MB).
    sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")


def cmd_collect(args: argparse.Namespace) -> int:
    from migrate.atomic import write_atomic
    from migrate.localcollect import collect_local

    facts = collect_local(args.root, args.rpm_backend, args.timeout)
    text = facts.to_json() + "\n"
    if args.output:
        write_atomic(args.output, text)
        console.info("wrote %s (%d packages)", args.output, len(facts.packages or ()))
    else:
        sys.stdout.write(text)
    for name, probe in facts.failed_probes().items():
        console.warning("probe %s %s: %s", name, probe.status, probe.message)
    return exitcodes.OK if facts.complete else exitcodes.INCOMPLETE


def assessment_exit_code(assessment: "object", fail_on: str, allow_incomplete: bool = False) -> int:
    if not assessment.complete and not allow_incomplete:
        return exitcodes.INCOMPLETE
    if assessment.count("blocker"):
        return exitcodes.BLOCKERS
    if fail_on == "warning" and assessment.count("warning"):
        return exitcodes.WARNINGS
    return exitcodes.OK


def cmd_assess(args: argparse.Namespace) -> int:
    from migrate.engine import assess
    from migrate.manifests import load_manifest
    from migrate.waivers import load_waivers

    manifest = load_manifest(args.target)  # an unknown target fails before any collection
    if args.target_repo:
        import dataclasses

        from migrate.snapshot import load_target_sources
        packages = load_target_sources(args.target_repo, cache_dir=args.cache_dir, timeout=args.timeout)
        manifest = dataclasses.replace(manifest, packages=packages, packages_source=packages.source)
        console.info("target packages: %d from %s", len(packages), packages.source)
    waivers = load_waivers(args.waivers) if args.waivers else ()
    if args.output and not args.output.endswith(".json"):
        raise BadInput("-o %s: unsupported report format (supported: .json)" % args.output)
    if args.facts:
        from migrate.facts import load_facts
        facts = load_facts(args.facts)
    else:
        from migrate.localcollect import collect_local
        facts = collect_local(args.root, args.rpm_backend, args.timeout)
    assessment = assess(facts, manifest, waivers)
    for name, probe in facts.failed_probes().items():
        console.warning("probe %s %s: %s", name, probe.status, probe.message)
    for waiver in assessment.unused_waivers:
        console.warning("waiver %s%s matched no finding", waiver.id,
                    " (%s)" % waiver.subject if waiver.subject else "")
    if args.json or args.output:
        from migrate.reports.json_report import build_report
        report = build_report(assessment, include_facts=not args.no_facts)
        if args.output:
            from migrate.atomic import write_atomic
            write_atomic(args.output, json.dumps(report, sort_keys=True) + "\n")
            console.info("wrote %s", args.output)
        if args.json:
            _print_json(report)
    if not args.json:
        from migrate.reports.terminal import render_summary
        sys.stdout.write(render_summary(assessment))
    return assessment_exit_code(assessment, args.fail_on, args.allow_incomplete)


def cmd_checks(args: argparse.Namespace) -> int:
    from migrate.engine import discover_checks

    discovery = discover_checks()
    rows = [{"id": c.id, "title": c.title, "category": c.category, "requires": list(c.requires),
             "origin": c.origin} for c in discovery.checks]
    errors = [{"id": e.check_id, "origin": e.origin, "error": e.reason} for e in discovery.errors]
    if args.json:
        _print_json({"checks": rows, "errors": errors})
    else:
        for row in rows:
            sys.stdout.write("%-32s %-10s %s\n" % (row["id"], row["category"], row["title"]))
        for err in errors:
            sys.stdout.write("%-32s %-10s ERROR %s\n" % (err["id"], "-", err["error"]))
    return exitcodes.INCOMPLETE if errors else exitcodes.OK


def cmd_targets(args: argparse.Namespace) -> int:
    from migrate.manifests import available_targets, load_manifest

    if args.action == "show":
        if not args.target:
            raise BadInput("targets show: which target? (see `migrate targets list`)")
        manifest = load_manifest(args.target)
        if args.json:
            from migrate.reports.target_text import derived_facts
            _print_json({"manifest": manifest.raw, "derived": derived_facts(manifest),
                         "file": manifest.path})
        else:
            from migrate.reports.target_text import render_target
            sys.stdout.write(render_target(manifest))
        return exitcodes.OK

    rows = []
    for target in available_targets():
        m = load_manifest(target)
        rows.append({"id": m.id, "name": m.name, "version": m.version, "el_major": m.el_major,
                     "architectures": list(m.architectures),
                     "repo_swap_from": ["%s-%s %d" % (p.source.distro, p.source.variant, p.source.major)
                                        for p in m.migration_paths if p.kind == "repo_swap"]})
    if args.json:
        _print_json({"targets": rows})
    else:
        for row in rows:
            sys.stdout.write("%-14s %-20s repo swap from: %s\n" % (
                row["id"], row["name"], ", ".join(row["repo_swap_from"]) or "none"))
    return exitcodes.OK


def cmd_manifest(args: argparse.Namespace) -> int:
    if args.manifest_command == "build":
        from migrate.snapshot import build_snapshot

        summary = build_snapshot(args.repo, args.output, cache_dir=args.cache_dir,
                                 timeout=args.timeout, retries=args.retries)
        for warning in summary.warnings:
            console.warning("%s", warning)
        console.info("wrote %s: %d packages, %d kernel module paths, from %d repositories",
                     summary.output, summary.packages, summary.module_paths, len(summary.repos))
        return exitcodes.OK
    from migrate.manifests import validate_file

    failed = 0
    for path in args.files:
        errors = validate_file(path)
        for line in errors:
            sys.stderr.write("migrate: error: %s\n" % line)
        if errors:
            failed += 1
        else:
            sys.stdout.write("%s: valid\n" % path)
    return exitcodes.BAD_INPUT if failed else exitcodes.OK


COMMANDS = {"collect": cmd_collect, "assess": cmd_assess, "checks": cmd_checks,
            "targets": cmd_targets, "manifest": cmd_manifest}


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console.configure(debug=args.debug)
    try:
        return COMMANDS[args.command](args)
    except MigrateError as exc:
        if args.debug:
            import traceback
            traceback.print_exc()
        sys.stderr.write("migrate: error: %s\n" % str(exc).splitlines()[0])
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("migrate: interrupted\n")
        return 130
    except BrokenPipeError:
        return exitcodes.OK
    except Exception as exc:  # the last line of defence: one line, traceback on --debug
        if args.debug:
            import traceback
            traceback.print_exc()
        sys.stderr.write("migrate: internal error: %s: %s (rerun with --debug for the traceback)\n"
                         % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return exitcodes.INTERNAL_ERROR
