# -*- coding: utf-8 -*-
"""The program the SSH runner starts on the host (`python -c <this source>`), once per call.

It reads one JSON request line from stdin, so no argv, path or package name ever passes
through a shell. Stdlib only, Python 2.7 and 3.6+ (CentOS 7 python2, CentOS 8
platform-python); nothing is installed on the host.

Requests:
  {"op": "run", "argv": [...], "env": {...}, "log": PATH|null}
      runs argv with stdin from /dev/null, stdout+stderr merged and copied to this process's
      stdout (and appended to `log` on the host). SIGHUP and SIGPIPE are ignored here and
      in the command, and output that can no longer be sent is still drained into the log:
      a dropped SSH connection does not kill dnf halfway through a transaction.
      Exit status: the command's, 128+N when killed by signal N, 127 when it cannot start.
  {"op": "probe", "path": PATH}   prints {"free_mb": N, "euid": N}
  {"op": "lock", "path": PATH}    flock(LOCK_EX|LOCK_NB) on PATH; prints "locked" and holds the
      lock until stdin closes (the controller closes the channel, or the connection drops),
      or prints "busy" and exits 75.

File operations, used instead of SFTP when the agent runs under sudo (SFTP would act as the
login user); a missing path exits 44 (MISSING_EXIT) with nothing on stdout:
  {"op": "read", "path": PATH}                    the file's bytes on stdout
  {"op": "write", "path": PATH, "size": N, "mode": M}   N bytes follow the request line on
      stdin; written to a sibling, fsync'd, renamed over PATH (parents created)
  {"op": "stat", "path": PATH}                    prints {"exists": bool, "isdir": bool}
  {"op": "listdir", "path": PATH}                 prints a sorted JSON list ([] when missing)
  {"op": "mkdirs", "path": PATH}                  creates PATH and its parents
"""
import errno
import fcntl
import json
import os
import signal
import sys

BUSY_EXIT = 75
MISSING_EXIT = 44


def _request():
    buf = b""
    while not buf.endswith(b"\n"):
        char = os.read(0, 1)  # byte by byte: nothing past the request line is consumed
        if not char:
            break
        buf += char
    return json.loads(buf.decode("utf-8"))


def _out(text):
    os.write(1, text.encode("utf-8"))


def _run(req):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    argv = [str(a) for a in req["argv"]]
    env = dict(os.environ)
    env.update(req.get("env") or {})
    env["LC_ALL"] = "C"
    log = None
    if req.get("log"):
        try:
            log = open(req["log"], "ab")
        except (IOError, OSError):
            log = None
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(wfd, 1)
            os.dup2(wfd, 2)
            os.close(rfd)
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(2, ("cannot run %s: %s\n" % (argv[0], exc.strerror)).encode("utf-8"))
        os._exit(127)
    os.close(wfd)
    sending = True
    while True:
        try:
            chunk = os.read(rfd, 65536)
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        if not chunk:
            break
        if log is not None:
            log.write(chunk)
            log.flush()
        if sending:
            try:
                os.write(1, chunk)
            except OSError:
                sending = False  # the controller is gone: keep draining into the log
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _probe(req):
    st = os.statvfs(req["path"])
    _out(json.dumps({"free_mb": st.f_bavail * st.f_frsize // (1024 * 1024), "euid": os.geteuid()}) + "\n")
    return 0


def _lock(req):
    fd = os.open(req["path"], os.O_RDWR | os.O_CREAT, 384)  # 0600
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError):
        _out("busy\n")
        return BUSY_EXIT
    os.ftruncate(fd, 0)
    os.write(fd, ("%d\n" % os.getpid()).encode("ascii"))
    _out("locked\n")
    while os.read(0, 4096):
        pass
    return 0


def _makedirs(path):
    try:
        os.makedirs(path)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def _read(req):
    try:
        handle = open(req["path"], "rb")
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return MISSING_EXIT
        raise
    with handle:
        while True:
            chunk = handle.read(65536)
            if not chunk:
                return 0
            os.write(1, chunk)


def _write(req):
    size = int(req["size"])
    chunks = []
    while size > 0:
        chunk = os.read(0, min(size, 65536))
        if not chunk:
            sys.stderr.write("short write request\n")
            return 1
        chunks.append(chunk)
        size -= len(chunk)
    path = req["path"]
    _makedirs(os.path.dirname(path))
    tmp = os.path.join(os.path.dirname(path), ".%s.migrate-%d" % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, int(req.get("mode", 420)))
    try:
        for chunk in chunks:
            while chunk:
                chunk = chunk[os.write(fd, chunk):]
        os.fchmod(fd, int(req.get("mode", 420)))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    return 0


def _stat(req):
    path = req["path"]
    _out(json.dumps({"exists": os.path.lexists(path), "isdir": os.path.isdir(path)}) + "\n")
    return 0


def _listdir(req):
    try:
        names = sorted(os.listdir(req["path"]))
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise
        names = []
    _out(json.dumps(names) + "\n")
    return 0


def _mkdirs(req):
    _makedirs(req["path"])
    return 0


def main():
    req = _request()
    handler = {"run": _run, "probe": _probe, "lock": _lock, "read": _read, "write": _write, "stat": _stat,
               "listdir": _listdir, "mkdirs": _mkdirs}.get(req.get("op"))
    if handler is None:
        sys.stderr.write("unknown request %r\n" % (req.get("op"),))
        return 2
    return handler(req)


if __name__ == "__main__":
    sys.exit(main())
