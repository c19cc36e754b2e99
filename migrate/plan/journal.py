"""journal.json of one run: each step's state, commands (argv, exit code, output tail,
timestamps); written atomically (rename) after every change, so a SIGKILL leaves the old
or the new journal, never half of one. It lives on the host being migrated and is read and
written through the run's Runner (local, or over SSH)."""
from __future__ import annotations

import datetime
import json
import os
from typing import Any, Dict, List, Optional

from migrate.errors import BadInput
from migrate.plan.runner import Runner

SCHEMA = 1
STATE_DIR = "var/lib/migrate"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def state_dir(root: str) -> str:
    return os.path.join(root, STATE_DIR)


class Journal:
    def __init__(self, path: str, data: Dict[str, Any], runner: Runner):
        self.path = path
        self.data = data
        self.runner = runner

    @property
    def run_dir(self) -> str:
        return os.path.dirname(self.path)

    @classmethod
    def create(cls, run_dir: str, header: Dict[str, Any], steps: List[Dict[str, Any]],
               runner: Runner) -> "Journal":
        data = dict(header, schema=SCHEMA, state="planned", created=now(), updated=now(),
                    point_of_no_return_passed=False, steps=steps, rollback=[])
        journal = cls(os.path.join(run_dir, "journal.json"), data, runner)
        journal.save()
        return journal

    @classmethod
    def load(cls, run_dir: str, runner: Runner) -> "Journal":
        path = os.path.join(run_dir, "journal.json")
        text = runner.read_bytes(path)
        if text is None:
            raise BadInput("no journal at %s (%s)" % (path, runner.where))
        try:
            data = json.loads(text.decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
                raise ValueError("not a journal object")
        except ValueError as exc:
            raise BadInput("%s (%s): not a migrate journal: %s" % (path, runner.where, exc)) from None
        return cls(path, data, runner)

    def save(self) -> None:
        self.data["updated"] = now()
        # compact: the C encoder (indent= would select the pure-Python one, which cost more than
        # all the rpm queries of a run); `migrate status --json` prints it indented
        self.runner.write_atomic(self.path, (json.dumps(self.data, sort_keys=True) + "\n")
                                 .encode("utf-8"), mode=0o600)

    def step(self, step_id: str) -> Dict[str, Any]:
        entry = self.find(step_id)
        if entry is None:
            raise KeyError(step_id)
        return entry

    def find(self, step_id: str) -> Optional[Dict[str, Any]]:
        """The step's entry, None when the plan has no such step."""
        return next((e for e in self.data["steps"] if e["id"] == step_id), None)

    def set_state(self, state: str) -> None:
        self.data["state"] = state
        self.save()


def list_runs(root: str, runner: Runner) -> List[str]:
    """Run directories under ROOT/var/lib/migrate, oldest first (run ids sort by time)."""
    base = state_dir(root)
    return [os.path.join(base, name) for name in runner.listdir(base)
            if runner.exists(os.path.join(base, name, "journal.json"))]


def latest_run(root: str, runner: Runner) -> Optional[str]:
    runs = list_runs(root, runner)
    return runs[-1] if runs else None
