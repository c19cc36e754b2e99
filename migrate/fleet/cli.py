"""`migrate fleet scan` and `migrate fleet assess`: the command lines of the fleet scanner and
of the batch assessment of a directory of facts files.

`migrate.cli` wires it with `add_fleet_parser(sub)` and `COMMANDS["fleet"] = cmd_fleet`;
`python -m migrate.fleet.cli scan|assess ...` runs it standalone (same options, same exit codes).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from migrate import console, exitcodes
from migrate.errors import BadInput, MigrateError
from migrate.fleet import states

INTERRUPTED_EXIT = exitcodes.INTERRUPTED


def _add_scan_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("-i", "--inventory", required=True, metavar="FILE",
                   help="plain host list ([user@]host[:port] a line) or Ansible inventory (INI/YAML)")
    s.add_argument("--target", required=True, metavar="ID", help="target id (see `migrate targets list`)")
    s.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                   help="hosts scanned at once (default: sized for this controller)")
    s.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="per-host timeout: connect, collect and read back (default 120)")
    s.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                   help="TCP connect + SSH handshake timeout (default 10)")
    s.add_argument("--out", default="fleet-scan", metavar="DIR",
                   help="output directory (created): per-host facts/report/HTML and fleet.json")
    s.add_argument("--become", action="store_true",
                   help="run the collector under `sudo -n` (passwordless sudo; no tty)")
    s.add_argument("--ssh-config", metavar="FILE", help="ssh_config to use (default ~/.ssh/config)")
    s.add_argument("--known-hosts", metavar="FILE", help="known_hosts file (default ~/.ssh/known_hosts)")
    s.add_argument("--accept-new-host-keys", action="store_true",
                   help="trust and record host keys not yet in known_hosts (a changed key is "
                        "always refused)")
    s.add_argument("--rescan", action="store_true",
                   help="contact every host again, even with fresh facts from an earlier run")
    s.add_argument("--max-age", type=float, default=24.0, metavar="HOURS",
                   help="facts younger than this are reused on a rerun (default 24)")
    s.add_argument("--limit", metavar="PATTERN",
                   help="groups or host globs, comma-separated; !PATTERN excludes, &PATTERN intersects")
    s.add_argument("--target-repo", action="append", default=[], metavar="URL|DIR|SNAPSHOT",
                   help="the target's repository metadata (see `migrate assess`)")
    s.add_argument("--cache-dir", metavar="DIR", help="repodata download cache")
    s.add_argument("--allow-incomplete", action="store_true",
                   help="exit by the verdicts even when a host's assessment is incomplete "
                        "(unscanned hosts still make the exit code 5)")


def _add_assess_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--facts-dir", required=True, metavar="DIR",
                   help="directory of NAME.facts.json files (from `migrate collect -o`, `fleet "
                        "scan`, or the Ansible role migrate_assess)")
    s.add_argument("--target", required=True, metavar="ID", help="target id (see `migrate targets list`)")
    s.add_argument("--hosts", action="append", default=[], metavar="NAME,NAME...",
                   help="assess only these hosts (NAME.facts.json each; repeatable); default: "
                        "every NAME.facts.json in --facts-dir")
    s.add_argument("--out", metavar="DIR",
                   help="output directory (created) for NAME.json, NAME.html and fleet.json "
                        "(default: --facts-dir)")
    s.add_argument("--target-repo", action="append", default=[], metavar="URL|DIR|SNAPSHOT",
                   help="the target's repository metadata (see `migrate assess`); loaded once")
    s.add_argument("--cache-dir", metavar="DIR", help="repodata download cache")
    s.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="repodata download timeout (default 30)")
    s.add_argument("--waivers", metavar="FILE",
                   help="YAML file of accepted findings, applied to every host (as `migrate assess`)")
    s.add_argument("--needs", metavar="SPEC",
                   help="what the workloads need of the target kernel/crypto (as `migrate assess`)")
    s.add_argument("--needs-file", metavar="FILE", help="needs as YAML (as `migrate assess`)")
    s.add_argument("--json", action="store_true", help="also print fleet.json's document on stdout")
    s.add_argument("--allow-incomplete", action="store_true",
                   help="exit by the verdicts even when a host's assessment is incomplete "
                        "(hosts without usable facts still make the exit code 5)")


ASSESS_DESCRIPTION = """\
Assess every NAME.facts.json in --facts-dir (or the --hosts named) in one process: the
manifest, the target's repodata and the checks are loaded once. Writes what `fleet scan`
writes per host (NAME.json, NAME.html, atomically) and fleet.json. A missing, unreadable,
malformed or stale facts file ends that host `collector_error`; names that are not plain
host names are rejected (listed in fleet.json) and never used as paths."""


def add_fleet_parser(sub: "argparse._SubParsersAction") -> None:
    """Add `fleet scan` and `fleet assess` to the `migrate` sub-command parser."""
    p = sub.add_parser("fleet", help="scan many hosts over SSH, or assess many facts files",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="fleet_command", metavar="ACTION")
    fsub.required = True
    s = fsub.add_parser("scan", help="collect and assess every inventory host over SSH",
                        epilog=exitcodes.HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_scan_options(s)
    a = fsub.add_parser("assess", help="assess a directory of facts files in one process",
                        description=ASSESS_DESCRIPTION, epilog=exitcodes.HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_assess_options(a)


def cmd_fleet(args: argparse.Namespace) -> int:
    """Run `migrate fleet scan|assess`; returns the exit code."""
    if args.fleet_command == "assess":
        return cmd_fleet_assess(args)
    return cmd_fleet_scan(args)


def _write_fleet_json(out: str, doc: dict, rejected: int, verb: str) -> None:
    import json

    from migrate.atomic import write_atomic

    path = os.path.join(out, "fleet.json")
    write_atomic(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    states_line = ", ".join("%s %d" % (k, v) for k, v in doc["states"].items() if v)
    console.info("wrote %s: %d hosts %s (%s)%s", path, doc["total"], verb, states_line,
                 ", %d rejected" % rejected if rejected else "")


def cmd_fleet_assess(args: argparse.Namespace) -> int:
    """`migrate fleet assess`: every host's facts against one target, in this process."""
    from migrate.cli import _target_manifest
    from migrate.fleet.batch import BatchAssessor, select_hosts
    from migrate.fleet.progress import make_progress
    from migrate.fleet.scan import fleet_document

    wanted = None
    if args.hosts:
        wanted = [n.strip() for item in args.hosts for n in item.split(",") if n.strip()]
    names, rejected = select_hosts(args.facts_dir, wanted)
    for raw, reason in rejected:
        console.warning("rejected host %s: %s", raw, reason)
    if not names and not rejected:
        raise BadInput("%s: no facts files to assess (NAME.facts.json)" % args.facts_dir)
    waivers = ()
    if args.waivers:
        from migrate.waivers import load_waivers
        waivers = load_waivers(args.waivers)
    manifest = _target_manifest(args)
    out = args.out or args.facts_dir
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise BadInput("--out %s: %s" % (out, exc.strerror or exc)) from None
    assessor = BatchAssessor(args.facts_dir, out, manifest, waivers)
    summary = assessor.run(names, make_progress(len(names), label="assessing"))
    summary.rejected = [{"host": raw, "reason": reason} for raw, reason in rejected]
    if not summary.interrupted:
        for waiver in assessor.unused_waivers:
            console.warning("waiver %s%s matched no finding on any host", waiver.id,
                            " (%s)" % waiver.subject if waiver.subject else "")
    doc = fleet_document(summary, args.target)
    _write_fleet_json(out, doc, len(rejected), "assessed")
    if args.json:
        import json
        sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    return _exit_code(summary, args.allow_incomplete)


def cmd_fleet_scan(args: argparse.Namespace) -> int:
    """Run `migrate fleet scan`; returns the exit code."""
    from migrate.cli import _target_manifest
    from migrate.fleet import ssh
    from migrate.fleet.inventory import apply_limit, load_inventory
    from migrate.fleet.progress import make_progress
    from migrate.fleet.scan import Scanner, ScanOptions, fleet_document

    if args.jobs < 0:
        raise BadInput("-j must be positive")
    if args.timeout <= 0:
        raise BadInput("--timeout must be positive")
    inventory = load_inventory(args.inventory)
    hosts = apply_limit(inventory, args.limit) if args.limit else inventory.hosts
    for raw, reason in inventory.rejected:
        console.warning("inventory: rejected host %s: %s", raw, reason)
    if not hosts:
        raise BadInput("%s: no hosts to scan%s" % (args.inventory,
                                                    " (after --limit %s)" % args.limit if args.limit else ""))
    manifest = _target_manifest(args)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise BadInput("--out %s: %s" % (args.out, exc.strerror or exc)) from None
    settings = ssh.SshSettings(ssh_config=args.ssh_config, known_hosts=args.known_hosts,
                               accept_new=args.accept_new_host_keys,
                               connect_timeout=min(args.connect_timeout, args.timeout))
    settings.config()  # a bad --ssh-config fails before any host is contacted
    opts = ScanOptions(out_dir=args.out, jobs=args.jobs, timeout=args.timeout, become=args.become,
                       rescan=args.rescan, max_age=args.max_age * 3600.0)
    scanner = Scanner(settings, opts, manifest)
    summary = scanner.run(hosts, make_progress(len(hosts)))
    summary.rejected = [{"host": raw, "reason": reason} for raw, reason in inventory.rejected]
    doc = fleet_document(summary, args.target)
    _write_fleet_json(args.out, doc, len(summary.rejected), "scanned")
    return _exit_code(summary, args.allow_incomplete)


def _exit_code(summary: "object", allow_incomplete: bool) -> int:
    if summary.interrupted:
        return INTERRUPTED_EXIT
    results = summary.results
    if summary.rejected or any(r.state != states.OK for r in results):
        return exitcodes.INCOMPLETE
    if not allow_incomplete and any(r.complete is False for r in results):
        return exitcodes.INCOMPLETE
    if any(r.blockers for r in results):
        return exitcodes.BLOCKERS
    return exitcodes.OK


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m migrate.fleet.cli scan|assess ...` is `migrate fleet ...` (one error handling)."""
    from migrate.cli import main as migrate_main

    return migrate_main(["fleet"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
