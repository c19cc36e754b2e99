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
    p.add_argument("-o", "--output", metavar="FILE", action="append", default=[],
                   help="write the report to FILE: .json (envelope), .html (self-contained "
                        "report), .xml (JUnit, one testcase per check); repeatable")
    p.add_argument("--waivers", metavar="FILE", help="YAML file of accepted findings")
    p.add_argument("--fail-on", choices=("blocker", "warning"), default="blocker",
                   help="exit non-zero on blockers only (default) or on warnings too (exit 4)")
    p.add_argument("--no-facts", action="store_true", help="leave the facts out of the JSON report")
    p.add_argument("--target-repo", action="append", default=[], metavar="URL|DIR|SNAPSHOT",
                   help="the target's repository metadata (repeat for BaseOS, AppStream, ...): a "
                        "repo URL, a local mirror or a snapshot from `migrate manifest build`")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="repodata download cache (default ~/.cache/migrate, or $MIGRATE_CACHE_DIR)")
    p.add_argument("--needs", metavar="SPEC",
                   help="what the workloads need of the target kernel/crypto, e.g. "
                        "cilium=1.16,io_uring,sm-crypto (added to what is detected)")
    p.add_argument("--needs-file", metavar="FILE", help="needs as YAML (see README)")
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

    p = sub.add_parser("kernel", help="kernel capability diff between a host and a target")
    ksub = p.add_subparsers(dest="kernel_command", metavar="ACTION")
    ksub.required = True
    k = ksub.add_parser("diff", help="eBPF/Cilium/cloud-native capabilities: source vs target")
    kwhere = k.add_mutually_exclusive_group()
    kwhere.add_argument("--root", metavar="DIR")
    kwhere.add_argument("--facts", metavar="FILE")
    k.add_argument("--target", required=True, metavar="ID")
    k.add_argument("--needs", metavar="SPEC")
    k.add_argument("--needs-file", metavar="FILE")
    k.add_argument("--json", action="store_true")
    _add_collect_options(k)

    p = sub.add_parser("report", help="reports over many hosts")
    rsub = p.add_subparsers(dest="report_command", metavar="ACTION")
    rsub.required = True
    r = rsub.add_parser("fleet", help="fleet dashboard over a directory of per-host JSON reports")
    r.add_argument("directory", metavar="DIR")
    r.add_argument("-o", "--output", required=True, metavar="FILE", help="dashboard HTML to write")

    p = sub.add_parser("certify", help="signed compatibility certificate (and keygen, verify)",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=("issue", "keygen", "verify"), default="issue",
                   help="issue (default), keygen or verify")
    p.add_argument("certificate", nargs="?", metavar="CERT.json", help="for verify")
    cwhere = p.add_mutually_exclusive_group()
    cwhere.add_argument("--root", metavar="DIR")
    cwhere.add_argument("--facts", metavar="FILE")
    p.add_argument("--target", metavar="ID")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="issue: certificate HTML to write (its JSON goes next to it, .json); "
                        "keygen: key path prefix")
    p.add_argument("--key", metavar="PRIVATE.pem", help="issue: sign with this private key")
    p.add_argument("--pubkey", metavar="PUBLIC.pem", help="verify: the signer's public key "
                   "(--facts FILE: also check the facts digest)")
    p.add_argument("--algorithm", choices=("ed25519", "sm2"), default="ed25519", help="keygen")
    p.add_argument("--days", type=int, default=90, help="issue: validity in days (default 90)")
    p.add_argument("--target-repo", action="append", default=[], metavar="URL|DIR|SNAPSHOT")
    p.add_argument("--allow-incomplete", action="store_true")
    _add_collect_options(p)

    from migrate.fleet.cli import add_fleet_parser  # cheap: paramiko loads only for a scan
    add_fleet_parser(sub)
    from migrate.plan.cli import add_plan_parsers  # plan, apply, status, rollback, resume
    add_plan_parsers(sub)

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


REPORT_FORMATS = (".json", ".html", ".xml")


def _target_manifest(args: argparse.Namespace) -> "object":
    """The target manifest with what the user added: repodata and declared needs."""
    import dataclasses

    from migrate.manifests import load_manifest

    manifest = load_manifest(args.target)  # an unknown target fails before any collection
    if getattr(args, "target_repo", None):
        from migrate.snapshot import load_target_sources
        packages = load_target_sources(args.target_repo, cache_dir=getattr(args, "cache_dir", None),
                                       timeout=args.timeout)
        manifest = dataclasses.replace(manifest, packages=packages, packages_source=packages.source)
        console.info("target packages: %d from %s", len(packages), packages.source)
    needs = ()
    if getattr(args, "needs", None):
        from migrate.needs import parse_needs
        needs += parse_needs(args.needs)
    if getattr(args, "needs_file", None):
        from migrate.needs import load_needs_file
        needs += load_needs_file(args.needs_file)
    if needs:
        manifest = dataclasses.replace(manifest, declared_needs=needs)
    return manifest


def _host_facts(args: argparse.Namespace) -> "object":
    if args.facts:
        from migrate.facts import load_facts
        return load_facts(args.facts)
    from migrate.localcollect import collect_local
    return collect_local(args.root, args.rpm_backend, args.timeout)


def _assessment(args: argparse.Namespace, waivers: tuple = ()) -> "object":
    from migrate.engine import assess

    manifest = _target_manifest(args)
    facts = _host_facts(args)
    assessment = assess(facts, manifest, waivers)
    for name, probe in facts.failed_probes().items():
        console.warning("probe %s %s: %s", name, probe.status, probe.message)
    return assessment


def cmd_assess(args: argparse.Namespace) -> int:
    from migrate.waivers import load_waivers

    for output in args.output:
        if not output.endswith(REPORT_FORMATS):
            raise BadInput("-o %s: unsupported report format (supported: %s)"
                           % (output, ", ".join(REPORT_FORMATS)))
    waivers = load_waivers(args.waivers) if args.waivers else ()
    assessment = _assessment(args, waivers)
    for waiver in assessment.unused_waivers:
        console.warning("waiver %s%s matched no finding", waiver.id,
                        " (%s)" % waiver.subject if waiver.subject else "")
    if args.json or args.output:
        from migrate.atomic import write_atomic
        from migrate.reports.json_report import build_report
        full = build_report(assessment)  # the HTML appendix always shows the facts
        report = {k: v for k, v in full.items() if k != "facts"} if args.no_facts else full
        for output in args.output:
            if output.endswith(".html"):
                from migrate.reports.html_report import render_host_html
                text = render_host_html(full)
            elif output.endswith(".xml"):
                from migrate.reports.junit import render_junit
                text = render_junit(report, fail_on=args.fail_on)
            else:
                text = json.dumps(report, sort_keys=True) + "\n"
            write_atomic(output, text)
            console.info("wrote %s", output)
        if args.json:
            _print_json(report)
    if not args.json:
        _print_summary(assessment)
    return assessment_exit_code(assessment, args.fail_on, args.allow_incomplete)


def _print_summary(assessment: "object") -> None:
    """Colour on a terminal (rich), plain text otherwise (pipes, logs, CI)."""
    if sys.stdout.isatty():
        from rich.console import Console

        from migrate.reports.terminal import render_summary_rich
        render_summary_rich(assessment, Console())
        return
    from migrate.reports.terminal import render_summary
    sys.stdout.write(render_summary(assessment))


def cmd_kernel(args: argparse.Namespace) -> int:
    from migrate.kerneldiff import kernel_diff, render_kernel_diff

    manifest = _target_manifest(args)
    diff = kernel_diff(_host_facts(args), manifest)
    if args.json:
        _print_json(diff)
    else:
        sys.stdout.write(render_kernel_diff(diff))
    return exitcodes.OK


def cmd_report(args: argparse.Namespace) -> int:
    import os

    from migrate.atomic import write_atomic
    from migrate.reports.fleet import fleet_model, render_fleet

    if not os.path.isdir(args.directory):
        raise BadInput("%s is not a directory of per-host JSON reports" % args.directory)
    model = fleet_model(args.directory)
    write_atomic(args.output, render_fleet(args.directory, model))
    console.info("wrote %s: %d hosts, %d assessed", args.output, model["total"], model["assessed"])
    return exitcodes.OK if model["assessed"] == model["total"] else exitcodes.INCOMPLETE


def cmd_certify(args: argparse.Namespace) -> int:
    from migrate import certify

    if args.action == "keygen":
        if not args.output:
            raise BadInput("certify keygen: give -o PATH_PREFIX for the key files")
        private, public = certify.keygen(args.output, args.algorithm)
        console.info("wrote %s (private, mode 0600) and %s", private, public)
        return exitcodes.OK
    if args.action == "verify":
        if not args.certificate:
            raise BadInput("certify verify: which certificate? (CERT.json)")
        cert = certify.load_certificate(args.certificate)
        facts = None
        if args.facts:  # also check the certificate against the facts it claims to cover
            try:
                with open(args.facts, encoding="utf-8") as handle:
                    facts = json.load(handle)
            except (OSError, ValueError) as exc:
                raise BadInput("%s: cannot read facts: %s" % (args.facts, exc)) from None
        problems = certify.verify_certificate(cert, args.pubkey, facts)
        for problem in problems:
            sys.stderr.write("migrate: error: %s: %s\n" % (args.certificate, problem))
        if not problems:
            sys.stdout.write("%s: valid\n" % args.certificate)
        return exitcodes.BAD_INPUT if problems else exitcodes.OK
    if not args.target or not args.output:
        raise BadInput("certify: give --target ID and -o CERT.html (and --root DIR or --facts FILE)")
    if not args.output.endswith(".html"):
        raise BadInput("certify: -o %s must end in .html (the JSON goes next to it)" % args.output)
    from migrate.atomic import write_atomic
    from migrate.reports.json_report import build_report

    assessment = _assessment(args)
    if not assessment.complete and not args.allow_incomplete:
        raise MigrateError("the assessment is incomplete: a certificate needs a complete one "
                           "(give --target-repo, or --allow-incomplete to certify what was assessed)")
    cert = certify.build_certificate(build_report(assessment), assessment.manifest.path, args.days)
    if args.key:
        cert = certify.sign_certificate(cert, args.key)
    json_path = args.output[:-5] + ".json"
    write_atomic(json_path, json.dumps(cert, indent=1, sort_keys=True) + "\n")
    write_atomic(args.output, certify.render_certificate_html(cert))
    console.info("wrote %s and %s%s", json_path, args.output, "" if args.key else " (unsigned: no --key)")
    return assessment_exit_code(assessment, "blocker", args.allow_incomplete)


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


def cmd_fleet(args: argparse.Namespace) -> int:
    from migrate.fleet.cli import cmd_fleet as scan

    return scan(args)


COMMANDS = {"collect": cmd_collect, "assess": cmd_assess, "checks": cmd_checks,
            "targets": cmd_targets, "manifest": cmd_manifest, "kernel": cmd_kernel,
            "report": cmd_report, "certify": cmd_certify, "fleet": cmd_fleet}


def _plan_command(name: str):
    def run(args: argparse.Namespace) -> int:
        from migrate.plan.cli import COMMANDS as PLAN_COMMANDS
        return PLAN_COMMANDS[name](args)
    return run


COMMANDS.update({name: _plan_command(name) for name in ("plan", "apply", "status", "rollback", "resume")})


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
        return exitcodes.INTERRUPTED
    except BrokenPipeError:
        return exitcodes.OK
    except Exception as exc:  # the last line of defence: one line, traceback on --debug
        if args.debug:
            import traceback
            traceback.print_exc()
        sys.stderr.write("migrate: internal error: %s: %s (rerun with --debug for the traceback)\n"
                         % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return exitcodes.INTERNAL_ERROR
