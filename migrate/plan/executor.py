"""Run a plan: journal every step, stop at the first failure, roll back LIFO, resume."""
from __future__ import annotations

import fcntl
import os
import signal
from typing import Any, Dict, List, Optional

from migrate import console
from migrate import exitcodes
from migrate.errors import MigrateError
from migrate.plan import steps as steps_mod
from migrate.plan.journal import Journal, now, state_dir
from migrate.plan.runner import Runner
from migrate.plan.steps import Context, Step

KILL_HOOK = "MIGRATE_TEST_KILL_AFTER_STEP"   # test hook: SIGKILL this process after step N (1-based) or ID


class LockHeld(MigrateError):
    exit_code = exitcodes.LOCKED


def acquire_lock(root: str) -> int:
    directory = state_dir(root)
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.path.join(directory, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise LockHeld("another migrate run holds %s" % os.path.join(directory, "lock"))
    os.ftruncate(fd, 0)
    os.write(fd, ("%d\n" % os.getpid()).encode())
    return fd


def release_lock(fd: Optional[int]) -> None:
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class Executor:
    def __init__(self, ctx: Context, steps: List[Step], runner: Runner, journal: Journal,
                 min_free_mb: int = 0):
        self.ctx = ctx
        self.steps = steps
        self.runner = runner
        self.journal = journal
        self.min_free_mb = min_free_mb

    # --- creating a run ----------------------------------------------------------------
    @classmethod
    def start(cls, ctx: Context, steps: List[Step], runner: Runner, header: Dict[str, Any],
              min_free_mb: int = 0) -> "Executor":
        os.makedirs(ctx.run_dir, exist_ok=True)
        for rel, text in ctx.staged_files().items():
            path = os.path.join(ctx.run_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        entries = [dict(s.to_json(), state="pending", runs=[], rollback_runs=[]) for s in steps]
        head = dict(header, run_id=ctx.run_id, root=ctx.root, target=ctx.target.id,
                    target_repos=ctx.target_repos, source_repos=ctx.source_repos, gpgcheck=ctx.gpgcheck,
                    gpg_keys=ctx.gpg_keys,
                    pid=os.getpid(), min_free_mb=min_free_mb)
        journal = Journal.create(ctx.run_dir, head, entries)
        return cls(ctx, steps, runner, journal, min_free_mb)

    # --- commands ----------------------------------------------------------------------
    def _installed(self, name: str) -> bool:
        res = self.runner.run(self.ctx.rpm() + ["-q", name], env=self.ctx.env())
        return res.returncode == 0

    def _run_cmds(self, cmds: List[Dict[str, Any]], record: List[Dict[str, Any]]) -> bool:
        """Run commands in order, recording each; False at the first failure."""
        for command in cmds:
            if "then" in command:
                later = getattr(steps_mod, command["then"])(self.ctx, self.runner)
                if not self._run_cmds(later, record):
                    return False
                continue
            entry: Dict[str, Any] = {"argv": command["argv"], "started": now()}
            if command.get("if_installed") and not self._installed(command["if_installed"]):
                entry.update(skipped="%s is not installed" % command["if_installed"], ended=now())
                record.append(entry)
                self.journal.save()
                continue
            record.append(entry)
            console.info("$ %s", " ".join(command["argv"]))
            res = self.runner.run(command["argv"], env=self.ctx.env())
            entry.update(exit_code=res.returncode, output_tail=res.tail, ended=now())
            if command.get("capture") and res.returncode == 0:
                path = os.path.join(self.ctx.run_dir, command["capture"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(res.output)
            self.journal.save()
            if res.returncode not in command.get("ok", [0]):
                console.warning("step command failed (exit %d): %s\n%s", res.returncode,
                              " ".join(command["argv"]), res.tail[-1500:])
                return False
        return True

    # --- apply / resume ----------------------------------------------------------------
    def run(self, lock_held: bool = False) -> bool:
        """Run the steps not done yet; `lock_held`: the caller already holds the root's lock."""
        lock = None if lock_held else acquire_lock(self.ctx.root)
        try:
            return self._run()
        finally:
            release_lock(lock)

    def _run(self) -> bool:
        data = self.journal.data
        if data["state"] in ("rolled_back", "rolling_back", "rollback_failed"):
            raise MigrateError("run %s was rolled back; start a new run" % data["run_id"])
        if any(e["runs"] for e in data["steps"]):
            # resuming: drop cached repo metadata, so a mirror fixed since the failure is seen
            record: List[Dict[str, Any]] = []
            data.setdefault("resumes", []).append({"at": now(), "runs": record})
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
        self.journal.set_state("completed")
        return True

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
        if step.dynamic:
            cmds += step.dynamic(self.ctx, self.runner, entry)
            entry["resolved_commands"] = cmds
        if not self._run_cmds(cmds, record):
            return False
        if step.internal == "backup":
            entry["dnf_history_id"] = steps_mod.dnf_history_id(self.ctx.root)
            entry["module_streams"] = _module_streams(self.ctx.path("etc/dnf/modules.d"))
        if step.internal == "verify":
            return self._verify(entry)
        return True

    def _preflight(self, entry: Dict[str, Any]) -> bool:
        problems = []
        if not os.path.isdir(self.ctx.root):
            problems.append("root %s is not a directory" % self.ctx.root)
        else:
            st = os.statvfs(self.ctx.root)
            free_mb = st.f_bavail * st.f_frsize // (1024 * 1024)
            entry["free_mb"] = free_mb
            if free_mb < self.min_free_mb:
                problems.append("only %d MiB free on %s (need %d)" % (free_mb, self.ctx.root, self.min_free_mb))
        res = self.runner.run(self.ctx.rpm() + ["-qa"], env=self.ctx.env())
        entry["runs"][-1].append({"argv": res.argv, "exit_code": res.returncode, "output_tail": res.tail[-500:]})
        if res.returncode != 0 or not res.output.strip():
            problems.append("the rpmdb of %s cannot be read" % self.ctx.root)
        entry["lock"] = os.path.join(state_dir(self.ctx.root), "lock")
        entry["problems"] = problems
        for problem in problems:
            console.warning("preflight: %s", problem)
        return not problems

    def _verify(self, entry: Dict[str, Any]) -> bool:
        problems = []
        wanted = self.ctx.target.os_release.get("ID")
        osr = _os_release(self.ctx.path("etc/os-release"))
        if osr.get("ID") != wanted:
            problems.append("/etc/os-release says ID=%s, not %s" % (osr.get("ID"), wanted))
        left = [n for n in self.ctx.target.release_swap.get("remove", []) if self._installed(n)]
        if left:
            problems.append("source release packages still installed: %s" % ", ".join(left))
        origins = {}
        path = os.path.join(self.ctx.run_dir, "after-from-repo.txt")
        if os.path.exists(path):
            for line in open(path, encoding="utf-8").read().splitlines():
                name, _, repo = line.partition(" ")
                if name and repo:
                    origins[name] = repo
        targets = set(self.ctx.target_repo_ids)
        foreign = sorted(n for n, r in origins.items() if r not in targets and n != "gpg-pubkey"
                         and not n.startswith("kernel"))
        entry["not_from_target"] = foreign
        if foreign:
            problems.append("packages not from the target repos: %s" % ", ".join(foreign))
        entry["problems"] = problems
        for problem in problems:
            console.warning("verify: %s", problem)
        return not problems

    # --- rollback ----------------------------------------------------------------------
    def rollback(self) -> bool:
        lock = acquire_lock(self.ctx.root)
        try:
            return self._rollback()
        finally:
            release_lock(lock)

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


def _os_release(path: str) -> Dict[str, str]:
    out = {}
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return out
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip('"')
    return out


def _module_streams(directory: str) -> Dict[str, str]:
    out = {}
    if not os.path.isdir(directory):
        return out
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".module"):
            continue
        fields = _os_release(os.path.join(directory, name))
        if fields.get("state") == "enabled":
            out[fields.get("name", name[:-7])] = fields.get("stream", "")
    return out

