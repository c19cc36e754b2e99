"""journal.json of one run: each step's state, commands (argv, exit code, output tail,
timestamps); written atomically (rename) after every change, so a SIGKILL leaves the old
or the new journal, never half of one."""
from __future__ import annotations

import datetime
import json
import os
from typing import Any, Dict, List, Optional

from migrate.atomic import atomic_file

SCHEMA = 1
STATE_DIR = "var/lib/migrate"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def state_dir(root: str) -> str:
    return os.path.join(root, STATE_DIR)


class Journal:
    def __init__(self, path: str, data: Dict[str, Any]):
        self.path = path
        self.data = data

    @property
    def run_dir(self) -> str:
        return os.path.dirname(self.path)

    @classmethod
    def create(cls, run_dir: str, header: Dict[str, Any], steps: List[Dict[str, Any]]) -> "Journal":
        os.makedirs(run_dir, exist_ok=True)
        data = dict(header, schema=SCHEMA, state="planned", created=now(), updated=now(),
                    point_of_no_return_passed=False, steps=steps, rollback=[])
        journal = cls(os.path.join(run_dir, "journal.json"), data)
        journal.save()
        return journal

    @classmethod
    def load(cls, run_dir: str) -> "Journal":
        path = os.path.join(run_dir, "journal.json")
        with open(path, encoding="utf-8") as handle:
            return cls(path, json.load(handle))

    def save(self) -> None:
        self.data["updated"] = now()
        with atomic_file(self.path) as handle:
            handle.write((json.dumps(self.data, indent=1, sort_keys=True) + "\n").encode("utf-8"))

    def step(self, step_id: str) -> Dict[str, Any]:
        for entry in self.data["steps"]:
            if entry["id"] == step_id:
                return entry
        raise KeyError(step_id)

    def set_state(self, state: str) -> None:
        self.data["state"] = state
        self.save()


def list_runs(root: str) -> List[str]:
    """Run directories under ROOT/var/lib/migrate, oldest first (run ids sort by time)."""
    base = state_dir(root)
    if not os.path.isdir(base):
        return []
    return [os.path.join(base, name) for name in sorted(os.listdir(base))
            if os.path.isfile(os.path.join(base, name, "journal.json"))]


def latest_run(root: str) -> Optional[str]:
    runs = list_runs(root)
    return runs[-1] if runs else None
