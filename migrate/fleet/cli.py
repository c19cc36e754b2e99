"""`migrate fleet scan`: the command line of the fleet scanner.

`migrate.cli` wires it with `add_fleet_parser(sub)` and `COMMANDS["fleet"] = cmd_fleet`;
`python -m migrate.fleet.cli scan ...` runs it standalone (same options, same exit codes).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from migrate import console, exitcodes
from migrate.errors import BadInput, MigrateError

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


def add_fleet_parser(sub: "argparse._SubParsersAction") -> None:
    """Add `fleet scan` to the `migrate` sub-command parser."""
    p = sub.add_parser("fleet", help="scan many hosts over SSH",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="fleet_command", metavar="ACTION")
    fsub.required = True
    s = fsub.add_parser("scan", help="collect and assess every inventory host over SSH",
                        epilog=exitcodes.HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_scan_options(s)


def cmd_fleet(args: argparse.Namespace) -> int:
    """Run `migrate fleet scan`; returns the exit code."""
    from migrate.atomic import write_atomic
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
    import json
    write_atomic(os.path.join(args.out, "fleet.json"), json.dumps(doc, indent=1, sort_keys=True) + "\n")
    states_line = ", ".join("%s %d" % (k, v) for k, v in doc["states"].items() if v)
    console.info("wrote %s: %d hosts (%s)%s", os.path.join(args.out, "fleet.json"), doc["total"],
                 states_line, ", %d rejected" % len(summary.rejected) if summary.rejected else "")
    return _exit_code(summary, args.allow_incomplete)


def _exit_code(summary: "object", allow_incomplete: bool) -> int:
    if summary.interrupted:
        return INTERRUPTED_EXIT
    results = summary.results
    if summary.rejected or any(r.state != "ok" for r in results):
        return exitcodes.INCOMPLETE
    if not allow_incomplete and any(r.complete is False for r in results):
        return exitcodes.INCOMPLETE
    if any(r.blockers for r in results):
        return exitcodes.BLOCKERS
    return exitcodes.OK


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m migrate.fleet.cli scan ...` is `migrate fleet scan ...` (one error handling)."""
    from migrate.cli import main as migrate_main

    return migrate_main(["fleet"] + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
