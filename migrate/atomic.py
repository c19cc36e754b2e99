"""Atomic file writes: a reader sees the old file or the whole new one, never half."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from migrate.errors import BadInput


@contextmanager
def atomic_file(path: str) -> Iterator[BinaryIO]:
    """Write `path` through a temporary sibling renamed into place on success; on any
    exception (KeyboardInterrupt included) the temporary file is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        # mkstemp creates 0600; a report, facts or cache file gets the umask-derived mode.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BadInput("cannot write %s: directory %s does not exist" % (path, directory))
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))
