"""Exceptions that the CLI turns into one-line errors with a named exit code."""
from migrate import exitcodes


class MigrateError(Exception):
    """An error the user can act on; printed as one line, no traceback."""

    exit_code = exitcodes.INTERNAL_ERROR


class BadInput(MigrateError):
    """Bad user input: unknown target, malformed file, missing root (exit 2)."""

    exit_code = exitcodes.BAD_INPUT
