"""Run a plan: journal every step, stop at the first failure, roll back LIFO, resume.

Everything that touches the host goes through the Runner (local or SSH); the journal and
the backups live on the host under ROOT/var/lib/migrate/RUN_ID/.
"""
from __future__ import annotations

import os
import signal
from typing import Any, Dict, List, Optional

from migrate import console
from migrate.collector import parse_os_release   # os-release and dnf .module files: KEY=value
from migrate.errors import MigrateError
from migrate.plan import steps as steps_mod
from migrate.plan.journal import Journal, now, state_dir
from migrate.plan.runner import HostLost, LockHeld, Runner
from migrate.plan.steps import Context, Step

# Test hooks (fault injection, as a power cut would do it):
KILL_HOOK = "MIGRATE_TEST_KILL_AFTER_STEP"   # SIGKILL this process after step N (1-based) or ID
# "STEP_ID:TEXT[:runner]": as soon as TEXT appears in the output of a command of step STEP_ID
# (e.g. "distro-sync:Cleanup"), SIGKILL the command's process group and this process (a power
# cut), or with ":runner" only this process (a dropped terminal or SSH connection)
KILL_INSIDE_HOOK = "MIGRATE_TEST_KILL_INSIDE"

__all__ = ["Executor", "LockHeld", "acquire_lock", "release_lock"]


def acquire_lock(runner: Runner, root: str) -> Any:
    return runner.lock(os.path.join(state_dir(root), "lock"))


def release_lock(runner: Runner, handle: Any) -> None:
    runner.unlock(handle)


class Executor:
    def __init__(self, ctx: Context, steps: List[Step], runner: Runner, journal: Journal,
                 min_free_mb: int = 0):
        self.ctx = ctx
        self.steps = steps
        self.runner = runner
        self.journal = journal
        self.min_free_mb = min_free_mb
        self.command_seconds = 0.0   # time spent inside the commands (bench/apply.py)
        self._lists: Any = None      # verify's package lists, reused by the run report
        runner.log_dir = os.path.join(ctx.run_dir, "output")   # every command's full output

    # --- creating a run ----------------------------------------------------------------
    @classmethod
    def start(cls, ctx: Context, steps: List[Step], runner: Runner, header: Dict[str, Any],
              min_free_mb: int = 0) -> "Executor":
        for rel, text in ctx.staged_files().items():
            runner.write_atomic(os.path.join(ctx.run_dir, rel),
                                text if isinstance(text, bytes) else text.encode("utf-8"))
        entries = [dict(s.to_json(), state="pending", runs=[], rollback_runs=[]) for s in steps]
        head = dict(header, run_id=ctx.run_id, root=ctx.root, target=ctx.target.id,
                    target_repos=ctx.target_repos, source_repos=ctx.source_repos, gpgcheck=ctx.gpgcheck,
                    gpg_keys=ctx.gpg_keys, runner=runner.where,
                    pid=os.getpid(), min_free_mb=min_free_mb)
        journal = Journal.create(ctx.run_dir, head, entries, runner)
        return cls(ctx, steps, runner, journal, min_free_mb)

    # --- commands ----------------------------------------------------------------------
    def _installed(self, name: str) -> bool:
        res = self.runner.run(self.ctx.rpm() + ["-q", name], env=self.ctx.env())
        return res.returncode == 0

    def _run_cmds(self, cmds: List[Dict[str, Any]], record: List[Dict[str, Any]],
                  step_id: str = "", save_each: bool = True) -> bool:
        """Run commands in order, recording each; False at the first failure."""
        for command in cmds:
            if "then" in command:
                later = getattr(steps_mod, command["then"])(self.ctx, self.runner)
                if not self._run_cmds(later, record, step_id, save_each):
                    return False
                continue
            entry: Dict[str, Any] = {"argv": command["argv"], "started": now()}
            skip = None
            if command.get("if_installed") and not self._installed(command["if_installed"]):
                skip = "%s is not installed" % command["if_installed"]
            elif command.get("done_if") and self.runner.exists(command["done_if"]):
                skip = "already done: %s exists" % command["done_if"]
            if skip:
                entry.update(skipped=skip, ended=now())
                record.append(entry)
                if save_each:
                    self.journal.save()
                continue
            record.append(entry)
            console.info("$ %s", " ".join(command["argv"]))
            res = self.runner.run(command["argv"], env=self.ctx.env(), watch=_kill_watch(step_id))
            self.command_seconds += res.duration_s
            entry.update(exit_code=res.returncode, output_tail=res.tail, ended=now(),
                         duration_s=round(res.duration_s, 3))
            if res.log:
                entry["log"] = os.path.relpath(res.log, self.ctx.run_dir)
            if command.get("capture") and res.returncode == 0:
                self.runner.write_atomic(os.path.join(self.ctx.run_dir, command["capture"]),
                                         res.output.encode("utf-8"))
            if save_each or res.returncode not in command.get("ok", [0]):
                self.journal.save()
            if res.returncode not in command.get("ok", [0]):
                console.warning("step command failed (exit %d): %s\n%s", res.returncode,
                              " ".join(command["argv"]), res.tail[-1500:])
                return False
        return True

    # --- apply / resume ----------------------------------------------------------------
    def run(self, lock_held: bool = False) -> bool:
        """Run the steps not done yet; `lock_held`: the caller already holds the root's lock."""
        lock = None if lock_held else acquire_lock(self.runner, self.ctx.root)
        try:
            return self._run()
        finally:
            release_lock(self.runner, lock)

    def _run(self) -> bool:
        data = self.journal.data
        if data["state"] in ("rolled_back", "rolling_back", "rollback_failed"):
            raise MigrateError("run %s was rolled back; start a new run" % data["run_id"])
        if any(e["runs"] for e in data["steps"]):
            # resuming: the host may have changed since (a reboot, a full disk, a fixed mirror):
            # check it again before anything else runs, and drop cached repo metadata
            record: List[Dict[str, Any]] = []
            resume: Dict[str, Any] = {"at": now(), "runs": record}
            data.setdefault("resumes", []).append(resume)
            resume["problems"] = self._host_problems(resume, record)
            if resume["problems"]:
                self.journal.save()
                for problem in resume["problems"]:
                    console.warning("resume: %s", problem)
                return False
            self._run_cmds([{"argv": self.ctx.dnf() + ["clean", "metadata"]}], record)
        self.journal.set_state("running")
        hook = os.environ.get(KILL_HOOK)
        for index, step in enumerate(self.steps, 1):
            entry = self.journal.step(step.id)
            if entry["state"] in ("done", "skipped"):
                continue
            if step.point_of_no_return and not data["point_of_no_return_passed"]:
                data["point_of_no_return_passed"] = True
                data["point_of_no_return_at"] = now()
            entry["state"] = "running"
            entry["started"] = now()
            record: List[Dict[str, Any]] = []
            entry["runs"].append(record)
            if not step.restartable:   # a restartable step interrupted is simply run again
                self.journal.save()
            console.info("step %d/%d %s: %s", index, len(self.steps), step.id, step.title)
            ok = self._step(step, entry, record)
            entry["ended"] = now()
            entry["state"] = "done" if ok else "failed"
            self.journal.save()
            if not ok:
                self.journal.set_state("failed")
                return False
            if hook and hook in (str(index), step.id):
                os.kill(os.getpid(), signal.SIGKILL)
        data["report"] = self._report()
        self.journal.set_state("completed")
        return True

    def _package_lists(self) -> Any:
        """(before, vendors before, after) from the run directory's captures, read once."""
        if self._lists is None:
            before, vendors = steps_mod.read_qa(self.ctx, "backup/rpm-qa.txt")
            self._lists = (before, vendors, steps_mod.read_qa(self.ctx, "after-rpm-qa.txt")[0])
        return self._lists

    def _report(self) -> Dict[str, Any]:
        """What the run did, for `migrate status` and the fleet: package counts and changes."""
        before, _, after = self._package_lists()
        verify = self.journal.find("verify") or {}
        branding = self.journal.find("remove-source-branding") or {}
        return {"packages_before": sum(len(v) for v in before.values()),
                "packages_after": sum(len(v) for v in after.values()),
                "updated": sorted(n for n in after if n in before and set(after[n]) != set(before[n])),
                "added": sorted(n for n in after if n not in before),
                "removed": sorted(n for n in before if n not in after),
                "replaced": verify.get("replaced", {}), "third_party": verify.get("third_party", []),
                "kept_branding": branding.get("kept", {}),
                "os_release_id": self.ctx.target.os_release.get("ID"),
                "command_seconds": round(self.command_seconds, 3)}

    def _step(self, step: Step, entry: Dict[str, Any], record: List[Dict[str, Any]]) -> bool:
        if step.internal == "preflight":
            return self._preflight(entry)
        if step.internal == "swap-release":
            target_rel = self.ctx.target.release_swap.get("install", [None])[0]
            source_rel = step.commands[0]["argv"][-2]
            if target_rel and self._installed(target_rel) and not self._installed(source_rel):
                entry["notes"] = ["already swapped: %s installed, %s not" % (target_rel, source_rel)]
                return True
        cmds = list(step.commands)
        if len(entry["runs"]) > 1 and any(c["argv"][:1] == ["dnf"] for c in cmds):
            cmds = steps_mod.clean_duplicates(self.ctx, self.runner, entry) + cmds
        if step.dynamic:
            cmds += step.dynamic(self.ctx, self.runner, entry)
            entry["resolved_commands"] = cmds
        if not self._run_cmds(cmds, record, step.id, save_each=not step.restartable):
            return False
        if step.internal == "backup":
            entry["dnf_history_id"] = steps_mod.dnf_history_id(self.runner, self.ctx.root)
            entry["module_streams"] = self._module_streams(self.ctx.path("etc/dnf/modules.d"))
        if step.internal == "verify":
            return self._verify(entry)
        return True

    def _preflight(self, entry: Dict[str, Any]) -> bool:
        problems = self._host_problems(entry, entry["runs"][-1])
        entry["lock"] = os.path.join(state_dir(self.ctx.root), "lock")
        entry["problems"] = problems
        for problem in problems:
            console.warning("preflight: %s", problem)
        return not problems

    def _host_problems(self, entry: Dict[str, Any], record: List[Dict[str, Any]]) -> List[str]:
        """Root, free space, user and a readable rpmdb (before the first step and on resume)."""
        problems = []
        if not self.runner.isdir(self.ctx.root):
            return ["root %s is not a directory" % self.ctx.root]
        probe = self.runner.probe(self.ctx.root)
        entry["free_mb"] = probe["free_mb"]
        if probe["free_mb"] < self.min_free_mb:
            problems.append("only %d MiB free on %s (need %d)" % (probe["free_mb"], self.ctx.root,
                                                                  self.min_free_mb))
        if probe["euid"] != 0:
            problems.append("not running as root on %s (euid %d)" % (self.runner.where, probe["euid"]))
        res = self.runner.run(self.ctx.rpm() + ["-qa"], env=self.ctx.env())
        record.append({"argv": res.argv, "exit_code": res.returncode, "output_tail": res.tail[-500:],
                       "duration_s": round(res.duration_s, 3)})
        if res.returncode != 0 or not res.output.strip():
            problems.append("the rpmdb of %s cannot be read" % self.ctx.root)
        return problems

    def _verify(self, entry: Dict[str, Any]) -> bool:
        problems = []
        wanted = self.ctx.target.os_release.get("ID")
        osr = parse_os_release(self.runner.read_text(self.ctx.path("etc/os-release")) or "")
        if osr.get("ID") != wanted:
            problems.append("/etc/os-release says ID=%s, not %s" % (osr.get("ID"), wanted))
        # release packages must be gone; other branding another package still needs was kept
        # on purpose by remove-source-branding (reported there, and here as `kept_branding`)
        kept = (self.journal.find("remove-source-branding") or {}).get("kept", {})
        left = [n for n in self.ctx.target.release_swap.get("remove", []) if self._installed(n)]
        entry["kept_branding"] = [n for n in left if n in kept and not n.endswith("-release")]
        left = [n for n in left if n not in entry["kept_branding"]]
        if left:
            problems.append("source release packages still installed: %s" % ", ".join(left))
        origins = {}
        for line in (self.runner.read_text(os.path.join(self.ctx.run_dir, "after-from-repo.txt")) or "").splitlines():
            name, _, repo = line.partition(" ")
            if name and repo:
                origins[name] = repo
        # third party: packages whose vendor (before the run) is not the source distribution's
        # (the vendor of its release packages): EPEL, vendor agents, in-house builds stay as they were
        self._lists = None   # after-rpm-qa.txt was captured again by this step's commands
        before, vendors, after = self._package_lists()
        released = set(self.ctx.target.release_swap.get("remove", []))
        source_vendors = {vendors[n] for n in released if vendors.get(n)}
        targets = set(self.ctx.target_repo_ids)
        foreign = sorted(n for n, r in origins.items() if r not in targets and n != "gpg-pubkey"
                         and not n.startswith("kernel") and n not in entry["kept_branding"])
        entry["third_party"] = [n for n in foreign if vendors.get(n) and vendors[n] not in source_vendors]
        foreign = [n for n in foreign if n not in entry["third_party"]]
        entry["not_from_target"] = foreign
        if foreign:
            problems.append("packages not from the target repos: %s" % ", ".join(foreign))
        # nothing lost: a package gone since the backup must be a removed source release/branding
        # package, or something now installed must provide its name (renamed, obsoleted)
        gone = sorted(n for n in before if n not in after and n not in released and n != "gpg-pubkey")
        replaced = {}
        for name in gone:
            res = self.runner.run(self.ctx.rpm() + ["-q", "--whatprovides", name, "--qf", "%{NAME}\n"],
                                  env=self.ctx.env())
            if res.returncode == 0 and res.output.strip():
                replaced[name] = res.output.split()[0]
        entry["replaced"] = replaced
        entry["lost"] = [n for n in gone if n not in replaced]
        if entry["lost"]:
            problems.append("packages removed without a replacement: %s" % ", ".join(entry["lost"]))
        entry["problems"] = problems
        for problem in problems:
            console.warning("verify: %s", problem)
        return not problems

    # --- rollback ----------------------------------------------------------------------
    def rollback(self) -> bool:
        lock = acquire_lock(self.runner, self.ctx.root)
        try:
            return self._rollback()
        finally:
            release_lock(self.runner, lock)

    def _rollback(self) -> bool:
        self.journal.set_state("rolling_back")
        failures = []
        for step in reversed(self.steps):
            entry = self.journal.step(step.id)
            if entry["state"] not in ("done", "failed", "running", "rollback_failed"):
                continue
            cmds = list(step.rollback)
            if step.id == "swap-release" and step.rollback:
                cmds = [dict(c, if_installed=c["argv"][-2]) for c in cmds]
            record: List[Dict[str, Any]] = []
            entry["rollback_runs"].append(record)
            console.info("rollback %s", step.id)
            try:
                if step.dynamic_rollback:
                    cmds += step.dynamic_rollback(self.ctx, self.runner, entry)
                entry["resolved_rollback"] = cmds
                ok = self._run_cmds_all(cmds, record)
            except HostLost:
                raise   # nothing more can be done or journaled over a broken connection
            except Exception as exc:  # noqa: BLE001 - keep going, report it
                record.append({"error": "%s: %s" % (type(exc).__name__, exc)})
                ok = False
            entry["state"] = "rolled_back" if ok else "rollback_failed"
            if not ok:
                failures.append(step.id)
            self.journal.save()
        self.journal.data["rollback_failures"] = failures
        self.journal.set_state("rollback_failed" if failures else "rolled_back")
        for step_id in failures:
            console.warning("rollback of step %s failed (see %s)", step_id, self.journal.path)
        return not failures

    def _run_cmds_all(self, cmds: List[Dict[str, Any]], record: List[Dict[str, Any]]) -> bool:
        """Rollback: run every command, even after one fails."""
        ok = True
        for command in cmds:
            if not self._run_cmds([command], record):
                ok = False
        return ok


    def _module_streams(self, directory: str) -> Dict[str, str]:
        out = {}
        for name in self.runner.listdir(directory):
            if not name.endswith(".module"):
                continue
            fields = parse_os_release(self.runner.read_text(os.path.join(directory, name)) or "")
            if fields.get("state") == "enabled":
                out[fields.get("name", name[:-7])] = fields.get("stream", "")
        return out



def _kill_watch(step_id: str) -> Optional[Any]:
    """The KILL_INSIDE_HOOK watcher for commands of `step_id` (None: no hook for this step)."""
    hook = os.environ.get(KILL_INSIDE_HOOK)
    if not hook or not step_id:
        return None
    hook_step, _, text = hook.partition(":")
    text, _, who = text.partition(":")
    if hook_step != step_id or not text:
        return None
    seen: List[str] = []

    def watch(chunk: str) -> bool:
        seen.append(chunk)
        return text in "".join(seen[-2:])   # across a chunk boundary too
    watch.whole_group = who != "runner"  # type: ignore[attr-defined]
    return watch

