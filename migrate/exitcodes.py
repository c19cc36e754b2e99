"""Exit codes of the `migrate` command, as named constants (documented in --help and README)."""

OK = 0  # assessment complete, no unwaived blockers
INTERNAL_ERROR = 1  # a bug in migrate; the one-line error says where to look (--debug)
BAD_INPUT = 2  # usage error or bad input: unknown target, malformed facts, missing root
BLOCKERS = 3  # unwaived blockers found
WARNINGS = 4  # unwaived warnings found and --fail-on warning was given
INCOMPLETE = 5  # a probe failed, a check failed or was skipped: the result is partial
STEP_FAILED = 6  # apply/resume: a step failed; the run stopped (rollback, or fix and resume)
ROLLBACK_FAILED = 7  # at least one rollback action failed (each one is reported)
LOCKED = 8  # another migration run holds ROOT/var/lib/migrate/lock
UNREACHABLE = 9  # plan/apply/status/rollback/resume --host: cannot connect, or the connection broke
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it; a fleet scan keeps finished hosts

HELP = """exit codes:
  0  no unwaived blockers (and no warnings with --fail-on warning)
  1  internal error (rerun with --debug for the traceback)
  2  usage error or bad input (unknown target, malformed facts file, missing root)
  3  unwaived blockers found
  4  unwaived warnings found and --fail-on warning given
  5  incomplete: a probe failed, or a check failed or was skipped for missing facts
     or target data, so the result is partial (takes precedence over 3 and 4:
     a partial result is never reported as final, unless --allow-incomplete)
  6  apply/resume: a step failed and the run stopped (rollback, or fix and resume)
  7  rollback: at least one restore failed (each is reported)
  8  another migration run holds the lock
  9  --host: the host cannot be reached, or the connection broke mid-run
     (the journal on the host has the last state: `migrate status --host`)
  130 interrupted (Ctrl-C); a fleet scan keeps the hosts it finished"""
