"""Scan progress on stderr: a rich bar on a TTY, one plain line per host otherwise."""
from __future__ import annotations

import sys
import threading
from typing import Optional

from migrate.fleet.states import HostResult


class LineProgress:
    """One line per finished host: `migrate: [3/20] web01 ok (blockers 2)`."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self._lock = threading.Lock()

    def host_done(self, result: HostResult) -> None:
        with self._lock:
            self.done += 1
            detail = result.message if result.state != "ok" else "%s%s" % (
                result.verdict or "", " (cached facts)" if result.cached else "")
            sys.stderr.write("migrate: [%d/%d] %s %s%s\n" % (
                self.done, self.total, result.name, result.state,
                (": " + detail.replace("\n", " ")) if detail else ""))
            sys.stderr.flush()

    def close(self) -> None:
        pass


class RichProgress:
    """A live progress bar; failed hosts are printed above it as they end."""

    def __init__(self, total: int, label: str = "scanning") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[failed]} failed"),
                                 console=self.console, transient=False)
        self.task = self.progress.add_task("scan", total=total, failed=0)
        self.failed = 0
        self.progress.start()

    def host_done(self, result: HostResult) -> None:
        if result.state != "ok":
            self.failed += 1
            self.progress.console.print("%s: %s: %s" % (result.name, result.state, result.message),
                                        markup=False, highlight=False)
        self.progress.update(self.task, advance=1, failed=self.failed)

    def close(self) -> None:
        self.progress.stop()


def make_progress(total: int, tty: Optional[bool] = None, label: str = "scanning"):
    if tty is None:
        tty = sys.stderr.isatty()
    return RichProgress(total, label) if tty else LineProgress(total)
