"""`migrate plan|apply|status|rollback|resume`. Wire with add_plan_parsers(sub) and COMMANDS;
`python -m migrate.plan.cli ...` runs them standalone.

Without --host every command acts on this machine (or on --root DIR here); with --host it
acts on that host over SSH (or on --root DIR there): the same plan, steps and journal,
through the SSH runner. Nothing is installed on the host.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
from typing import Any, List, Optional

from migrate import console, exitcodes
from migrate.errors import BadInput, MigrateError

# Exit codes of the executor commands (next to migrate.exitcodes: 0 ok, 2 bad input, 3 blockers)
STEP_FAILED = exitcodes.STEP_FAILED
ROLLBACK_FAILED = exitcodes.ROLLBACK_FAILED
LOCKED = exitcodes.LOCKED


def _common(p: argparse.ArgumentParser, target: bool = True) -> None:
    p.add_argument("--root", metavar="DIR", default="/", help="act on an installroot at DIR (default /)")
    s = p.add_argument_group("SSH (act on a remote host; nothing is installed there)")
    s.add_argument("--host", metavar="HOST", help="the host to act on over SSH (name or address; "
                   "ssh_config applies); --root and --target-repo/--source-repo paths are on that host")
    s.add_argument("--port", type=int, metavar="N")
    s.add_argument("--user", metavar="USER", help="remote user: root, or a user with passwordless sudo "
                   "together with --become (anyone else: the run refuses)")
    s.add_argument("--identity", metavar="KEYFILE", help="private key file")
    s.add_argument("--ssh-config", metavar="FILE", help="ssh_config to use (default ~/.ssh/config)")
    s.add_argument("--known-hosts", metavar="FILE", help="known_hosts file (default ~/.ssh/known_hosts)")
    s.add_argument("--accept-new-host-keys", action="store_true",
                   help="trust and record a host key not yet known (a changed key is always refused)")
    s.add_argument("--connect-timeout", type=float, default=30.0, metavar="S",
                   help="TCP connect + SSH handshake timeout (default 30)")
    s.add_argument("--become", action="store_true",
                   help="log in as --user and act as root through `sudo -n` (passwordless sudo); "
                        "files then go through the agent under sudo, not SFTP")
    if target:
        p.add_argument("--target", required=True, metavar="ID", help="target id (see `migrate targets list`)")
        p.add_argument("--target-repo", "--mirror", action="append", default=[], metavar="URL|DIR",
                       help="use these repositories instead of the manifest's (repeatable; tests, mirrors)")
        p.add_argument("--gpg-key", action="append", default=[], metavar="FILE",
                       help="a target GPG public key to install under /etc/pki/rpm-gpg and import "
                            "(repeatable; default: the keys the target release package ships)")
    p.add_argument("--source-repo", action="append", default=[], metavar="URL|DIR",
                   help="the source's repositories, for rollback (default: the backed-up .repo files)")
    p.add_argument("--no-gpgcheck", action="store_true", help="do not check package signatures (test repos)")
    p.add_argument("--json", action="store_true", help="JSON on stdout")


def add_plan_parsers(sub: Any) -> None:
    p = sub.add_parser("plan", help="show the migration steps with the exact argv of every command",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p = sub.add_parser("apply", help="run the migration (refuses while unwaived blockers remain)",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--dry-run", action="store_true", help="assess and print the plan; change nothing")
    p.add_argument("--yes", "-y", action="store_true",
                   help="do not ask for confirmation (required without a terminal)")
    p.add_argument("--waivers", metavar="FILE", help="YAML file of accepted findings")
    p.add_argument("--needs", metavar="SPEC", help="workload needs for the assessment (as `migrate assess`)")
    p.add_argument("--needs-file", metavar="FILE", help="needs as YAML (as `migrate assess`)")
    p.add_argument("--cache-dir", metavar="DIR", help="repodata download cache (as `migrate assess`)")
    p.add_argument("--min-free-mb", type=int, default=1024, metavar="MB",
                   help="free space needed on the root's filesystem (default 1024)")
    p.add_argument("--rpm-backend", choices=("auto", "bindings", "cli"), default="auto",
                   help="how the assessment reads the rpmdb of a local root (as `migrate assess`)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="repodata download timeout for the assessment (default 30)")
    p = sub.add_parser("status", help="state of the latest (or a given) run",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p, target=False)
    p.add_argument("--run", metavar="RUN_ID", help="a run under ROOT/var/lib/migrate (default: the latest)")
    p = sub.add_parser("rollback", help="undo a run, last step first",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p, target=False)
    p.add_argument("--run", metavar="RUN_ID", help="a run under ROOT/var/lib/migrate (default: the latest)")
    p = sub.add_parser("resume", help="continue an interrupted run from its first unfinished step",
                       epilog=exitcodes.HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p, target=False)
    p.add_argument("--run", metavar="RUN_ID", help="a run under ROOT/var/lib/migrate (default: the latest)")


def _runner(args: argparse.Namespace) -> Any:
    if not getattr(args, "host", None):
        for opt in ("port", "user", "identity", "ssh_config", "known_hosts", "become"):
            if getattr(args, opt, None):
                raise BadInput("--%s needs --host" % opt.replace("_", "-"))
        from migrate.plan.runner import LocalRunner
        return LocalRunner()
    from migrate.fleet.inventory import check_name
    from migrate.plan.sshrunner import connect_runner

    problem = check_name(args.host)
    if problem:
        raise BadInput("--host: %s" % problem)
    return connect_runner(args.host, user=args.user, port=args.port, identity=args.identity,
                          ssh_config=args.ssh_config, known_hosts=args.known_hosts,
                          accept_new=args.accept_new_host_keys, connect_timeout=args.connect_timeout,
                          become=args.become)


def _root(args: argparse.Namespace, runner: Any) -> str:
    if getattr(args, "host", None):
        if not args.root.startswith("/"):
            raise BadInput("--root %s: with --host, the root must be an absolute path on the host" % args.root)
        root = os.path.normpath(args.root)
    else:
        root = os.path.abspath(args.root)
    if not runner.isdir(root):
        raise BadInput("root %s is not a directory%s" % (args.root, " on " + runner.where if args.host else ""))
    return root


def _new_run_id() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + "-%d" % os.getpid()


def _context(args: argparse.Namespace, runner: Any, run_id: Optional[str] = None) -> Any:
    from migrate.manifests import load_manifest
    from migrate.plan.steps import Context, read_installed

    manifest = load_manifest(args.target)
    paths = [p for p in manifest.migration_paths if p.kind == "repo_swap"]
    if not paths:
        raise BadInput("%s has no same-major repo-swap path; the executor only does repo swaps" % args.target)
    ctx = Context(root=_root(args, runner), target=manifest, run_id=run_id or _new_run_id(),
                  target_repos=[_abs(r, args) for r in args.target_repo],
                  source_repos=[_abs(r, args) for r in args.source_repo], gpgcheck=not args.no_gpgcheck,
                  gpg_keys=[os.path.abspath(k) for k in args.gpg_key], runner=runner)
    for key in ctx.gpg_keys:   # read here, installed on the host by the run
        if not os.path.isfile(key):
            raise BadInput("--gpg-key %s: no such file" % key)
    read_installed(ctx, runner)
    return ctx


def _abs(repo: str, args: argparse.Namespace) -> str:
    if "://" in repo:
        return repo
    if getattr(args, "host", None):
        if not repo.startswith("/"):
            raise BadInput("%s: with --host, a repository directory must be an absolute path on the host" % repo)
        return repo
    return os.path.abspath(repo)


def render_plan(ctx: Any, steps: List[Any]) -> str:
    out = ["Plan: migrate %s to %s (%s)" % (ctx.root, ctx.target.name, ctx.target.id),
           "Journal and backups: %s/ (a new run id for every apply)" % ctx.run_dir, ""]
    for index, step in enumerate(steps, 1):
        if step.point_of_no_return:
            out.append("---- POINT OF NO RETURN: from the next step on, rollback is a best-effort "
                       "downgrade from the source repos ----")
        out.append("%2d. [%s] %s" % (index, step.id, step.title))
        if step.internal in ("preflight",):
            out.append("      (checks done by migrate itself; no command)")
        for command in step.commands:
            out.append("      $ %s" % shlex.join(command["argv"]))
        if step.note:
            out.append("      note: %s" % step.note)
        for command in step.rollback:
            out.append("      rollback $ %s" % shlex.join(command["argv"]))
    return "\n".join(out) + "\n"


def _with_runner(command: Any) -> Any:
    """Run `command(args, runner)` and close the runner (an SSH connection) afterwards."""
    def wrapped(args: argparse.Namespace) -> int:
        runner = _runner(args)
        try:
            return command(args, runner)
        finally:
            runner.close()
    wrapped.__doc__ = command.__doc__
    return wrapped


@_with_runner
def cmd_plan(args: argparse.Namespace, runner: Any) -> int:
    from migrate.plan.steps import build_plan

    ctx = _context(args, runner)
    steps = build_plan(ctx)
    if args.json:
        sys.stdout.write(json.dumps({"root": ctx.root, "target": ctx.target.id, "run_dir": ctx.run_dir,
                                     "steps": [s.to_json() for s in steps]}, indent=1) + "\n")
    else:
        sys.stdout.write(render_plan(ctx, steps))
    return exitcodes.OK


def _assess(args: argparse.Namespace, runner: Any, root: str) -> Any:
    """The assessment apply refuses on: of this machine or root, or of --host (its facts
    collected over the run's own SSH connection)."""
    from migrate.cli import _assessment, _target_manifest
    from migrate.waivers import load_waivers

    ns = argparse.Namespace(target=args.target, target_repo=args.target_repo, cache_dir=args.cache_dir,
                            timeout=args.timeout, needs=args.needs, needs_file=args.needs_file, facts=None,
                            root=None if root == "/" else root, rpm_backend=args.rpm_backend)
    waivers = load_waivers(args.waivers) if args.waivers else ()
    if not args.host:
        return _assessment(ns, waivers)
    from migrate.engine import assess

    manifest = _target_manifest(ns)
    facts = runner.collect_facts(root)
    for name, probe in facts.failed_probes().items():
        console.warning("probe %s %s: %s", name, probe.status, probe.message)
    return assess(facts, manifest, waivers)


def _refuse_unfinished(root: str, runner: Any) -> None:
    """One migration per root at a time: an interrupted or failed run is resumed or rolled back
    first, and a completed one is not applied again."""
    from migrate.plan.journal import Journal, latest_run

    run_dir = latest_run(root, runner)
    if not run_dir:
        return
    data = Journal.load(run_dir, runner).data
    if data["state"] == "rolled_back":
        return
    if data["state"] == "completed":
        raise BadInput("run %s already migrated %s to %s (`migrate status --root %s`)"
                       % (data["run_id"], root, data["target"], root))
    raise BadInput("run %s on %s is %s: `migrate resume --root %s` or `migrate rollback --root %s` first"
                   % (data["run_id"], root, data["state"], root, root))


def _confirm(args: argparse.Namespace, ctx: Any, steps: List[Any]) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise BadInput("apply changes %s%s and needs a confirmation: no terminal to ask on, pass --yes"
                       % (ctx.root, " on " + ctx.runner.where if args.host else ""))
    sys.stderr.write(render_plan(ctx, steps))
    sys.stderr.write("Migrate %s%s to %s? Type yes to go on: " % (ctx.root, " on " + ctx.runner.where
                                                                  if args.host else "", ctx.target.name))
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() == "yes"


@_with_runner
def cmd_apply(args: argparse.Namespace, runner: Any) -> int:
    from migrate.plan.executor import Executor, LockHeld, acquire_lock, release_lock
    from migrate.plan.steps import build_plan

    root = _root(args, runner)
    _refuse_unfinished(root, runner)
    assessment = _assess(args, runner, root)
    blockers = [f for f in assessment.findings if f.severity == "blocker" and not f.waived]
    if blockers:
        for finding in blockers:
            sys.stderr.write("migrate: blocker %s: %s\n" % (finding.id, finding.title))
        sys.stderr.write("migrate: refusing to apply: %d unwaived blocker(s); nothing was changed\n"
                         % len(blockers))
        if args.json:
            _print_json({"state": "refused", "root": root, "host": args.host,
                         "blockers": sorted({f.id for f in blockers})})
        return exitcodes.BLOCKERS
    if not assessment.complete:
        console.warning("the assessment is incomplete (some checks were skipped); see `migrate assess`")
    ctx = _context(args, runner)
    steps = build_plan(ctx)
    if args.dry_run:
        sys.stdout.write(render_plan(ctx, steps))
        sys.stdout.write("dry run: nothing was changed\n")
        return exitcodes.OK
    if not _confirm(args, ctx, steps):
        sys.stderr.write("migrate: not confirmed; nothing was changed\n")
        return exitcodes.BAD_INPUT
    header = {"assessment": {"blockers": 0, "waived_blockers": assessment.count("blocker", waived=True),
                             "warnings": assessment.count("warning"), "complete": assessment.complete},
              "host": args.host}
    try:
        lock = acquire_lock(runner, ctx.root)   # before the run directory exists: a refused run leaves nothing
    except LockHeld as exc:
        sys.stderr.write("migrate: %s\n" % exc)
        return LOCKED
    try:
        executor = Executor.start(ctx, steps, runner, header, min_free_mb=args.min_free_mb)
        ok = executor.run(lock_held=True)
    finally:
        release_lock(runner, lock)
    return _finish(args, executor, ok)


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def run_summary(data: Any) -> Any:
    """The --json answer of apply/resume/rollback: the run's state and each step's."""
    return {"run_id": data["run_id"], "state": data["state"], "root": data["root"], "host": data.get("host"),
            "target": data["target"], "point_of_no_return_passed": data["point_of_no_return_passed"],
            "rollback_failures": data.get("rollback_failures", []),
            "steps": [{"id": s["id"], "state": s["state"]} for s in data["steps"]]}


def _where(args: argparse.Namespace, root: str) -> str:
    """The options that name the same host and root again, for the hints printed."""
    out = ["--root", root]
    if getattr(args, "host", None):
        out = ["--host", args.host] + out
    return shlex.join(out)


def _finish(args: argparse.Namespace, executor: Any, ok: bool) -> int:
    data = executor.journal.data
    if args.json:
        _print_json(run_summary(data))
    else:
        sys.stdout.write("run %s: %s (journal %s%s)\n" % (data["run_id"], data["state"], executor.journal.path,
                                                         " on " + executor.runner.where if args.host else ""))
    if not ok:
        failed = [s["id"] for s in data["steps"] if s["state"] == "failed"] or ["resume preflight"]
        where = _where(args, data["root"])
        sys.stderr.write("migrate: step %s failed; %s the point of no return. `migrate rollback %s` "
                         "undoes it, `migrate resume %s` retries it\n"
                         % (", ".join(failed), "past" if data["point_of_no_return_passed"] else "before",
                            where, where))
        return STEP_FAILED
    return exitcodes.OK


def _load_run(args: argparse.Namespace, runner: Any) -> Any:
    from migrate.manifests import load_manifest
    from migrate.plan.executor import Executor
    from migrate.plan.journal import Journal, latest_run, state_dir
    from migrate.plan.steps import Context, steps_from_journal

    root = _root(args, runner)
    if args.run is not None and ("/" in args.run or args.run.startswith(".") or not args.run):
        raise BadInput("--run %r: not a run id" % args.run)
    run_dir = os.path.join(state_dir(root), args.run) if args.run else latest_run(root, runner)
    if not run_dir or not runner.exists(os.path.join(run_dir, "journal.json")):
        raise BadInput("no migrate run under %s%s" % (state_dir(root), " on " + runner.where if args.host else ""))
    journal = Journal.load(run_dir, runner)
    data = journal.data
    ctx = Context(root=data["root"], target=load_manifest(data["target"]), run_id=data["run_id"],
                  target_repos=data.get("target_repos", []),
                  source_repos=[_abs(r, args) for r in args.source_repo] or data.get("source_repos", []),
                  gpgcheck=data.get("gpgcheck", True) and not args.no_gpgcheck,
                  gpg_keys=data.get("gpg_keys", []), runner=runner)
    if os.path.normpath(ctx.root) != root:
        raise BadInput("run %s belongs to root %s" % (data["run_id"], ctx.root))
    return Executor(ctx, steps_from_journal(data["steps"]), runner, journal, data.get("min_free_mb", 0))


@_with_runner
def cmd_status(args: argparse.Namespace, runner: Any) -> int:
    executor = _load_run(args, runner)
    data = executor.journal.data
    if args.json:
        sys.stdout.write(json.dumps(data, indent=1, sort_keys=True) + "\n")
        return exitcodes.OK
    sys.stdout.write("run %s on %s -> %s: %s%s\n" % (data["run_id"], data["root"], data["target"], data["state"],
                     " (past the point of no return)" if data["point_of_no_return_passed"] else ""))
    for index, step in enumerate(data["steps"], 1):
        if step["point_of_no_return"]:
            sys.stdout.write("  ---- point of no return ----\n")
        sys.stdout.write("  %2d. %-24s %s\n" % (index, step["id"], step["state"]))
    report = data.get("report")
    if report:
        sys.stdout.write("  packages: %d before, %d after; %d updated, %d added, %d removed (%s)\n"
                         % (report["packages_before"], report["packages_after"], len(report["updated"]),
                            len(report["added"]), len(report["removed"]),
                            ", ".join("%s -> %s" % kv for kv in sorted(report["replaced"].items()))
                            or "none replaced"))
        for name, why in sorted(report["kept_branding"].items()):
            sys.stdout.write("  kept %s: %s\n" % (name, why))
        if report["third_party"]:
            sys.stdout.write("  third-party packages left as they were: %s\n" % ", ".join(report["third_party"]))
    return exitcodes.OK


def _locked(action: Any) -> Any:
    """`action()`, or exit LOCKED with the one-line reason when another run holds the lock."""
    from migrate.plan.executor import LockHeld

    try:
        return action()
    except LockHeld as exc:
        sys.stderr.write("migrate: %s\n" % exc)
        return None


@_with_runner
def cmd_rollback(args: argparse.Namespace, runner: Any) -> int:
    executor = _load_run(args, runner)
    data = executor.journal.data
    if data["state"] == "rolled_back":
        if args.json:
            _print_json(run_summary(data))
        else:
            sys.stdout.write("run %s is already rolled back\n" % data["run_id"])
        return exitcodes.OK
    ok = _locked(executor.rollback)
    if ok is None:
        return LOCKED
    if args.json:
        _print_json(run_summary(data))
    else:
        sys.stdout.write("run %s: %s\n" % (data["run_id"], data["state"]))
    for step_id in data.get("rollback_failures", []):
        sys.stderr.write("migrate: rollback of %s failed\n" % step_id)
    return exitcodes.OK if ok else ROLLBACK_FAILED


@_with_runner
def cmd_resume(args: argparse.Namespace, runner: Any) -> int:
    executor = _load_run(args, runner)
    if executor.journal.data["state"] == "completed":
        if args.json:
            _print_json(run_summary(executor.journal.data))
        else:
            sys.stdout.write("run %s is already completed\n" % executor.journal.data["run_id"])
        return exitcodes.OK
    ok = _locked(executor.run)
    if ok is None:
        return LOCKED
    return _finish(args, executor, ok)


COMMANDS = {"plan": cmd_plan, "apply": cmd_apply, "status": cmd_status, "rollback": cmd_rollback,
            "resume": cmd_resume}


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m migrate.plan.cli apply ...` is `migrate apply ...` (one error handling)."""
    from migrate.cli import main as migrate_main

    return migrate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
