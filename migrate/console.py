"""Logs and progress for humans, on stderr (stdout is reserved for JSON and reports).

A few functions rather than the logging module: `migrate assess` on one host must
start fast, and importing logging costs more than a host's whole rpm query.
"""
from __future__ import annotations

import sys

_state = {"debug": False, "quiet": False}


def configure(debug: bool = False, quiet: bool = False) -> None:
    _state["debug"], _state["quiet"] = debug, quiet


def debugging() -> bool:
    return _state["debug"]


def _emit(prefix: str, message: str, args: tuple) -> None:
    text = message % args if args else message
    sys.stderr.write("migrate: %s%s\n" % (prefix, text))


def info(message: str, *args: object) -> None:
    if not _state["quiet"]:
        _emit("", message, args)


def warning(message: str, *args: object) -> None:
    _emit("warning: ", message, args)


def debug(message: str, *args: object) -> None:
    if _state["debug"]:
        _emit("debug: ", message, args)
