"""`migrate plan|apply|status|rollback|resume`. Wire with add_plan_parsers(sub) and COMMANDS;
`python -m migrate.plan.cli ...` runs them standalone."""
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
    p = sub.add_parser("plan", help="show the migration steps with the exact argv of every command")
    _common(p)
    p = sub.add_parser("apply", help="run the migration (refuses while unwaived blockers remain)")
    _common(p)
    p.add_argument("--dry-run", action="store_true", help="assess and print the plan; change nothing")
    p.add_argument("--waivers", metavar="FILE", help="YAML file of accepted findings")
    p.add_argument("--needs", metavar="SPEC")
    p.add_argument("--needs-file", metavar="FILE")
    p.add_argument("--cache-dir", metavar="DIR")
    p.add_argument("--min-free-mb", type=int, default=1024, metavar="MB",
                   help="free space needed on the root's filesystem (default 1024)")
    p.add_argument("--rpm-backend", choices=("auto", "bindings", "cli"), default="auto")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S")
    p = sub.add_parser("status", help="state of the latest (or a given) run")
    _common(p, target=False)
    p.add_argument("--run", metavar="RUN_ID")
    p = sub.add_parser("rollback", help="undo a run, last step first")
    _common(p, target=False)
    p.add_argument("--run", metavar="RUN_ID")
    p = sub.add_parser("resume", help="continue an interrupted run from its first unfinished step")
    _common(p, target=False)
    p.add_argument("--run", metavar="RUN_ID")


def _root(args: argparse.Namespace) -> str:
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        raise BadInput("root %s is not a directory" % args.root)
    return root


def _new_run_id() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + "-%d" % os.getpid()


def _context(args: argparse.Namespace, run_id: Optional[str] = None) -> Any:
    from migrate.manifests import load_manifest
    from migrate.plan.runner import LocalRunner
    from migrate.plan.steps import Context, read_installed

    manifest = load_manifest(args.target)
    paths = [p for p in manifest.migration_paths if p.kind == "repo_swap"]
    if not paths:
        raise BadInput("%s has no same-major repo-swap path; the executor only does repo swaps" % args.target)
    ctx = Context(root=_root(args), target=manifest, run_id=run_id or _new_run_id(),
                  target_repos=[_abs(r) for r in args.target_repo],
                  source_repos=[_abs(r) for r in args.source_repo], gpgcheck=not args.no_gpgcheck,
                  gpg_keys=[os.path.abspath(k) for k in args.gpg_key])
    for key in ctx.gpg_keys:
        if not os.path.isfile(key):
            raise BadInput("--gpg-key %s: no such file" % key)
    runner = LocalRunner()
    read_installed(ctx, runner)
    return ctx, runner


def _abs(repo: str) -> str:
    return repo if "://" in repo else os.path.abspath(repo)


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


def cmd_plan(args: argparse.Namespace) -> int:
    from migrate.plan.steps import build_plan

    ctx, _runner = _context(args)
    steps = build_plan(ctx)
    if args.json:
        sys.stdout.write(json.dumps({"root": ctx.root, "target": ctx.target.id, "run_dir": ctx.run_dir,
                                     "steps": [s.to_json() for s in steps]}, indent=1) + "\n")
    else:
        sys.stdout.write(render_plan(ctx, steps))
    return exitcodes.OK


def _assess(args: argparse.Namespace) -> Any:
    from migrate.cli import _assessment
    from migrate.waivers import load_waivers

    ns = argparse.Namespace(target=args.target, target_repo=args.target_repo, cache_dir=args.cache_dir,
                            timeout=args.timeout, needs=args.needs, needs_file=args.needs_file, facts=None,
                            root=None if os.path.abspath(args.root) == "/" else os.path.abspath(args.root),
                            rpm_backend=args.rpm_backend)
    waivers = load_waivers(args.waivers) if args.waivers else ()
    return _assessment(ns, waivers)


def _refuse_unfinished(root: str) -> None:
    """One migration per root at a time: an interrupted or failed run is resumed or rolled back
    first, and a completed one is not applied again."""
    from migrate.plan.journal import Journal, latest_run

    run_dir = latest_run(root)
    if not run_dir:
        return
    data = Journal.load(run_dir).data
    if data["state"] == "rolled_back":
        return
    if data["state"] == "completed":
        raise BadInput("run %s already migrated %s to %s (`migrate status --root %s`)"
                       % (data["run_id"], root, data["target"], root))
    raise BadInput("run %s on %s is %s: `migrate resume --root %s` or `migrate rollback --root %s` first"
                   % (data["run_id"], root, data["state"], root, root))


def cmd_apply(args: argparse.Namespace) -> int:
    from migrate.plan.executor import Executor, LockHeld, acquire_lock, release_lock
    from migrate.plan.steps import build_plan

    root = _root(args)
    _refuse_unfinished(root)
    assessment = _assess(args)
    blockers = [f for f in assessment.findings if f.severity == "blocker" and not f.waived]
    if blockers:
        for finding in blockers:
            sys.stderr.write("migrate: blocker %s: %s\n" % (finding.id, finding.title))
        sys.stderr.write("migrate: refusing to apply: %d unwaived blocker(s); nothing was changed\n"
                         % len(blockers))
        return exitcodes.BLOCKERS
    if not assessment.complete:
        console.warning("the assessment is incomplete (some checks were skipped); see `migrate assess`")
    ctx, runner = _context(args)
    steps = build_plan(ctx)
    if args.dry_run:
        sys.stdout.write(render_plan(ctx, steps))
        sys.stdout.write("dry run: nothing was changed\n")
        return exitcodes.OK
    header = {"assessment": {"blockers": 0, "waived_blockers": assessment.count("blocker", waived=True),
                             "warnings": assessment.count("warning"), "complete": assessment.complete}}
    try:
        lock = acquire_lock(ctx.root)   # before the run directory exists: a refused run leaves nothing
    except LockHeld as exc:
        sys.stderr.write("migrate: %s\n" % exc)
        return LOCKED
    try:
        executor = Executor.start(ctx, steps, runner, header, min_free_mb=args.min_free_mb)
        ok = executor.run(lock_held=True)
    finally:
        release_lock(lock)
    return _finish(executor, ok)


def _finish(executor: Any, ok: bool) -> int:
    data = executor.journal.data
    sys.stdout.write("run %s: %s (journal %s)\n" % (data["run_id"], data["state"], executor.journal.path))
    if not ok:
        failed = [s["id"] for s in data["steps"] if s["state"] == "failed"]
        sys.stderr.write("migrate: step %s failed; %s the point of no return. `migrate rollback --root %s` "
                         "undoes it, `migrate resume --root %s` retries it\n"
                         % (", ".join(failed), "past" if data["point_of_no_return_passed"] else "before",
                            data["root"], data["root"]))
        return STEP_FAILED
    return exitcodes.OK


def _load_run(args: argparse.Namespace) -> Any:
    from migrate.manifests import load_manifest
    from migrate.plan.executor import Executor
    from migrate.plan.journal import Journal, latest_run, state_dir
    from migrate.plan.runner import LocalRunner
    from migrate.plan.steps import Context, steps_from_journal

    root = _root(args)
    run_dir = os.path.join(state_dir(root), args.run) if args.run else latest_run(root)
    if not run_dir or not os.path.exists(os.path.join(run_dir, "journal.json")):
        raise BadInput("no migrate run under %s" % state_dir(root))
    journal = Journal.load(run_dir)
    data = journal.data
    ctx = Context(root=data["root"], target=load_manifest(data["target"]), run_id=data["run_id"],
                  target_repos=data.get("target_repos", []),
                  source_repos=[_abs(r) for r in args.source_repo] or data.get("source_repos", []),
                  gpgcheck=data.get("gpgcheck", True) and not args.no_gpgcheck,
                  gpg_keys=data.get("gpg_keys", []))
    if os.path.abspath(ctx.root) != root:
        raise BadInput("run %s belongs to root %s" % (data["run_id"], ctx.root))
    return Executor(ctx, steps_from_journal(data["steps"]), LocalRunner(), journal,
                    data.get("min_free_mb", 0))


def cmd_status(args: argparse.Namespace) -> int:
    executor = _load_run(args)
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
    return exitcodes.OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from migrate.plan.executor import LockHeld

    executor = _load_run(args)
    if executor.journal.data["state"] == "rolled_back":
        sys.stdout.write("run %s is already rolled back\n" % executor.journal.data["run_id"])
        return exitcodes.OK
    try:
        ok = executor.rollback()
    except LockHeld as exc:
        sys.stderr.write("migrate: %s\n" % exc)
        return LOCKED
    data = executor.journal.data
    sys.stdout.write("run %s: %s\n" % (data["run_id"], data["state"]))
    for step_id in data.get("rollback_failures", []):
        sys.stderr.write("migrate: rollback of %s failed\n" % step_id)
    return exitcodes.OK if ok else ROLLBACK_FAILED


def cmd_resume(args: argparse.Namespace) -> int:
    from migrate.plan.executor import LockHeld

    executor = _load_run(args)
    state = executor.journal.data["state"]
    if state == "completed":
        sys.stdout.write("run %s is already completed\n" % executor.journal.data["run_id"])
        return exitcodes.OK
    try:
        ok = executor.run()
    except LockHeld as exc:
        sys.stderr.write("migrate: %s\n" % exc)
        return LOCKED
    return _finish(executor, ok)


COMMANDS = {"plan": cmd_plan, "apply": cmd_apply, "status": cmd_status, "rollback": cmd_rollback,
            "resume": cmd_resume}


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m migrate.plan.cli apply ...` is `migrate apply ...` (one error handling)."""
    from migrate.cli import main as migrate_main

    return migrate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
