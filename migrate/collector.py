# -*- coding: utf-8 -*-
"""Host-side fact collector for `migrate`.

This one module is everything that ever runs on a host. It is stdlib-only and
runs unchanged under Python 2.7 (CentOS 7's yum python), 3.6
(/usr/libexec/platform-python on EL8) and any newer Python, so it can be piped
to a remote interpreter's stdin (``python - --root DIR < collector.py``) with
nothing installed on the host.

It only reads: files are opened read-only, the rpmdb is opened read-only (and
never opened at all when it does not exist, because rpm would create one), and
the only commands it runs are ``rpm -q`` queries and ``openssl`` listings.
Under ``--root DIR`` it reads everything below DIR (a mounted image, a
container rootfs, or a test host) and runs no binary from inside DIR.

Every probe records a status, one of ``ok | absent | denied | timeout |
error``, and a message, so "no module loaded" is never confused with "could
not read /proc/modules". ``absent`` means the source a probe reads does not
exist (a file, a command, or a runtime file not captured under --root); the
three failure statuses mean the fact is unknown.

The JSON it prints is the facts document described by ``migrate.facts``
(schema version SCHEMA_VERSION); the controller validates it.
"""
from __future__ import absolute_import, division, print_function

import errno
import json
import os
import re
import sys
import time

# gzip, hashlib, socket, subprocess and threading are imported where they are used:
# an offline assessment needs few of them, and each costs start-up time.

SCHEMA_VERSION = 3  # 2: pkgmgr (origins, locks, rpmdb files, euid); 3: workloads
COLLECTOR_VERSION = "0.1.0"

OK, ABSENT, DENIED, TIMEOUT, ERROR = "ok", "absent", "denied", "timeout", "error"
FAILED_STATUSES = (DENIED, TIMEOUT, ERROR)

# Package names whose newest installed version is the kernel an offline root boots.
KERNEL_PACKAGES = ("kernel-core", "kernel", "kernel-rt-core", "kernel-rt", "kernel-uek-core",
                   "kernel-uek", "kernel-ml-core", "kernel-ml", "kernel-lt-core", "kernel-lt")
MODULE_DIR_PREFIXES = ("/lib/modules/", "/usr/lib/modules/")
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst", ".ko.bz2")
OUT_OF_TREE_DIRS = ("extra", "updates", "weak-updates")
RELEASE_FILES = ("/etc/centos-release", "/etc/redhat-release", "/etc/system-release",
                 "/etc/anolis-release", "/etc/opencloudos-release", "/etc/tencentos-release")
SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-e98c6c4d5b0a"
DEFAULT_REPO_DIRS = ("/etc/yum.repos.d", "/etc/yum/repos.d", "/etc/distro.repos.d")
MAX_FILE_BYTES = 8 * 1024 * 1024
ELF_MACHINES = {0x03: "i686", 0x3E: "x86_64", 0xB7: "aarch64", 0x16: "s390x", 0xF3: "riscv64",
                0x102: "loongarch64"}

# Container image references (registry/path:tag) as bolt keys or manifest values.
IMAGE_REF = re.compile(br"(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9._-]+(?:/[a-z0-9._-]+)*:v?[0-9][A-Za-z0-9._-]{0,40}"
                       br"(?=[\x00-\x20\"']|$)")
MANIFEST_IMAGE = re.compile(r"""["']?image["']?\s*:\s*["']?([^\s"',}]+)""")
CNI_TYPE = re.compile(r'"type"\s*:\s*"([^"]+)"')
SM_WORD = re.compile(r"\bSM[234]\b|\bsm[234]\b|SM2[-_]?with[-_]?SM3|sm2sig|ShangMi", re.I)
# DER encodings of the GM/T 0006 OIDs: SM2 public key 1.2.156.10197.1.301, SM3withSM2 1.2.156.10197.1.501
SM_OIDS = ((b"\x06\x08\x2a\x81\x1c\xcf\x55\x01\x82\x2d", "1.2.156.10197.1.301"),
           (b"\x06\x08\x2a\x81\x1c\xcf\x55\x01\x83\x75", "1.2.156.10197.1.501"))

# Separators for `rpm --qf` output: ASCII unit/record separators never occur in
# sane header strings; a record that does not split cleanly is reported, not guessed.
FS, RS, GS = "\x1f", "\x1e", "\x1d"
# Raw signature blobs (hex in --qf output), first present wins: the same order as
# rpm's own pgpsig display. Both backends parse them with parse_pgp_signature.
SIG_TAGS = ("dsaheader", "rsaheader", "siggpg", "sigpgp")
SIG_QF = ("%|DSAHEADER?{%{DSAHEADER}}:{%|RSAHEADER?{%{RSAHEADER}}:"
          "{%|SIGGPG?{%{SIGGPG}}:{%|SIGPGP?{%{SIGPGP}}:{(none)}|}|}|}|")
PKG_FIELDS = ("name", "epoch", "version", "release", "arch", "vendor", "packager",
              "install_time", "source_rpm", "size")
PKG_QF = (FS.join(["%{NAME}", "%{EPOCH}", "%{VERSION}", "%{RELEASE}", "%{ARCH}", "%{VENDOR}",
                   "%{PACKAGER}", "%{INSTALLTIME}", "%{SOURCERPM}", "%{SIZE}", SIG_QF,
                   "[%{DIRNAMES}" + GS + "]"]) + RS)
FILES_QF = "%{NAME}" + FS + "%{EPOCH}" + FS + "%{VERSION}" + FS + "%{RELEASE}" + FS + \
    "%{ARCH}" + FS + "[%{FILENAMES}" + GS + "]" + RS

PY2 = sys.version_info[0] == 2
if PY2:  # pragma: no cover - exercised on EL7 hosts
    text_type = unicode  # noqa: F821
else:
    text_type = str


def to_text(value):
    """Decode bytes from files, rpm and commands; never fail on bad bytes."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if PY2 and not isinstance(value, text_type):  # pragma: no cover
        return text_type(value)
    return value


def _errno_status(exc):
    code = getattr(exc, "errno", None)
    if code in (errno.ENOENT, errno.ENOTDIR):
        return ABSENT
    if code in (errno.EACCES, errno.EPERM):
        return DENIED
    return ERROR


class Collector(object):
    """Runs every probe against a live host (root "/") or an offline root."""

    def __init__(self, root=None, rpm_backend="auto", timeout=30.0):
        self.offline = root not in (None, "", "/")
        self.root = os.path.abspath(root) if self.offline else "/"
        self.rpm_backend = rpm_backend
        self.timeout = timeout
        self.probes = {}
        self.rpm_backend_used = None

    # -- plumbing -----------------------------------------------------------
    def path(self, host_path):
        """Map a host path to where it is read from (under --root when offline)."""
        if not self.offline:
            return host_path
        return os.path.join(self.root, host_path.lstrip("/"))

    def record(self, name, status, message=""):
        self.probes[name] = {"status": status, "message": to_text(message) or ""}
        return status

    def runtime_uncaptured(self, host_path):
        """Offline roots only have /proc and /sys when someone captured them. An empty
        directory is not a capture: the filesystem package owns empty /proc and /sys."""
        if not self.offline:
            return False
        top = self.path("/" + host_path.strip("/").split("/")[0])
        try:
            return not os.listdir(top)
        except (IOError, OSError):
            return True

    def read(self, host_path, limit=MAX_FILE_BYTES):
        """Return (status, text, message) for a file on the host."""
        real = self.path(host_path)
        try:
            if os.path.isdir(real):
                return ERROR, None, "%s is a directory" % host_path
            with open(real, "rb") as handle:
                data = handle.read(limit + 1)
        except (IOError, OSError) as exc:
            status = _errno_status(exc)
            if status == ABSENT and self.runtime_uncaptured(host_path):
                return ABSENT, None, "%s not captured under %s" % (host_path, self.root)
            return status, None, "%s: %s" % (host_path, exc.strerror or exc)
        if len(data) > limit:
            return ERROR, None, "%s is larger than %d bytes" % (host_path, limit)
        return OK, to_text(data), ""

    def listdir(self, host_path):
        try:
            return OK, sorted(os.listdir(self.path(host_path))), ""
        except (IOError, OSError) as exc:
            return _errno_status(exc), [], "%s: %s" % (host_path, exc.strerror or exc)

    def run(self, argv):
        """Run a read-only command; return (status, stdout, message).

        Python 2.7 has no subprocess timeout, so a timer kills the process.
        """
        import subprocess
        import threading
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        try:
            proc = subprocess.Popen(argv, stdin=open(os.devnull, "rb"), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, close_fds=True)
        except (IOError, OSError) as exc:
            return _errno_status(exc), None, "%s: %s" % (argv[0], exc.strerror or exc)
        expired = []

        def kill():
            expired.append(True)
            try:
                proc.kill()
            except OSError:
                pass
        timer = threading.Timer(self.timeout, kill)
        timer.start()
        try:
            out, err = proc.communicate()
        finally:
            timer.cancel()
        if expired:
            return TIMEOUT, None, "%s did not finish within %ss" % (argv[0], self.timeout)
        if proc.returncode != 0:
            tail = to_text(err).strip().splitlines()[-1:] or [""]
            return ERROR, to_text(out), "%s exited %s: %s" % (" ".join(argv[:3]), proc.returncode,
                                                              tail[0])
        return OK, to_text(out), to_text(err).strip()

    # -- OS -------------------------------------------------------------------
    def collect_os(self):
        facts = {"os_release": None, "release_files": {}, "arch": None, "hostname": None,
                 "machine_id_sha256": None}
        status, text, msg = self.read("/etc/os-release")
        if status == ABSENT:
            status, text, msg2 = self.read("/usr/lib/os-release")
            msg = msg if status == ABSENT else ""
        if status == OK:
            facts["os_release"] = parse_os_release(text)
        self.record("os.os_release", status, msg)

        found, failures = [], []
        for name in RELEASE_FILES:
            real = self.path(name)
            status, text, msg = self.read(name, limit=4096)
            if status == OK:
                entry = {"content": text.strip()}
                if os.path.islink(real):
                    entry["symlink"] = to_text(os.readlink(real))
                facts["release_files"][name] = entry
                found.append(name)
            elif status != ABSENT:
                failures.append((status, msg))
        if failures:
            self.record("os.release_files", failures[0][0], "; ".join(m for _, m in failures))
        else:
            self.record("os.release_files", OK if found else ABSENT,
                        "" if found else "no release file in /etc")

        status, text, msg = self.read("/etc/machine-id", limit=4096)
        if status == OK and text.strip():
            import hashlib
            facts["machine_id_sha256"] = hashlib.sha256(text.strip().encode("utf-8")).hexdigest()
        elif status == OK:
            status, msg = ABSENT, "/etc/machine-id is empty"
        self.record("os.machine_id", status, msg)

        if self.offline:
            status, text, msg = self.read("/etc/hostname", limit=4096)
            if status == OK:
                facts["hostname"] = text.strip() or None
                if not facts["hostname"]:
                    status, msg = ABSENT, "/etc/hostname is empty"
            self.record("os.hostname", status, msg)
        else:
            import socket
            facts["hostname"] = to_text(socket.gethostname())
            self.record("os.hostname", OK)
        return facts

    # -- packages -------------------------------------------------------------
    def rpm_dbpath(self):
        """The rpmdb directory as rpm sees it (relative to the root)."""
        for candidate in ("/var/lib/rpm", "/usr/lib/sysimage/rpm"):
            real = self.path(candidate)
            for dbfile in ("rpmdb.sqlite", "Packages", "Packages.db"):
                if os.path.exists(os.path.join(real, dbfile)):
                    return candidate, dbfile
        return None, None

    def collect_packages(self):
        dbpath, dbfile = self.rpm_dbpath()
        if dbpath is None:
            self.record("packages", ABSENT, "no rpmdb under %s (looked in /var/lib/rpm and "
                        "/usr/lib/sysimage/rpm)" % self.root)
            return None
        real_db = os.path.join(self.path(dbpath), dbfile)
        if not os.access(real_db, os.R_OK):
            self.record("packages", DENIED, "%s is not readable" % os.path.join(dbpath, dbfile))
            return None
        backend = self.rpm_backend
        errors = []
        if backend in ("auto", "bindings"):
            try:
                packages = self._packages_from_bindings(dbpath, dbfile)
                self.rpm_backend_used = "bindings"
                return self._finish_packages(packages)
            except ImportError as exc:
                errors.append("rpm bindings unavailable (%s)" % exc)
                if backend == "bindings":
                    self.record("packages", ERROR, errors[-1])
                    return None
            except Exception as exc:  # rpm.error and friends: report, then try the CLI
                errors.append("rpm bindings: %s" % exc)
                if backend == "bindings":
                    self.record("packages", ERROR, errors[-1])
                    return None
        status, packages, msg = self._packages_from_cli(dbpath)
        self.rpm_backend_used = "cli"
        if status != OK:
            self.record("packages", status, "; ".join(errors + [msg]))
            return None
        return self._finish_packages(packages, "; ".join(errors))

    def _finish_packages(self, packages, note=""):
        if not packages:
            self.record("packages", ERROR, "rpmdb at %s lists no packages" % self.root)
            return None
        packages.sort(key=lambda p: (p["name"], p["version"], p["release"], p["arch"]))
        self.record("packages", OK, note)
        return packages

    def _packages_from_bindings(self, dbpath, dbfile):
        import rpm  # noqa: the host's own bindings; absent on minimal images
        rpm.addMacro("_dbpath", dbpath)
        # An offline EL7/EL8 root has a Berkeley DB rpmdb; rpm >= 4.16 built without
        # bdb reads it with bdb_ro (it would find it anyway, with a warning on stderr).
        # Older rpm (EL7/EL8 hosts themselves) has no bdb_ro and reads bdb natively.
        bdb_ro = self.offline and dbfile == "Packages" and rpm_version(rpm) >= (4, 16)
        if bdb_ro:
            rpm.addMacro("_db_backend", "bdb_ro")
        try:
            ts = rpm.TransactionSet(self.root)
            # Reading needs no signature or digest checks (and no keyring access).
            ts.setVSFlags(getattr(rpm, "_RPMVSF_NOSIGNATURES", 0) | getattr(rpm, "_RPMVSF_NODIGESTS", 0))
            packages = []
            tags = [(field, getattr(rpm, "RPMTAG_" + tag.upper())) for field, tag in (
                ("name", "name"), ("epoch", "epoch"), ("version", "version"),
                ("release", "release"), ("arch", "arch"), ("vendor", "vendor"),
                ("packager", "packager"), ("install_time", "installtime"),
                ("source_rpm", "sourcerpm"), ("size", "size"))]
            sig_tags = [getattr(rpm, "RPMTAG_" + tag.upper()) for tag in SIG_TAGS]
            dirnames_tag, filenames_tag = rpm.RPMTAG_DIRNAMES, rpm.RPMTAG_FILENAMES
            for hdr in ts.dbMatch():
                record = dict((field, hdr[tag]) for field, tag in tags)
                signature = None
                for tag in sig_tags:
                    signature = hdr[tag]
                    if signature:
                        break
                module_files = None
                for dirname in hdr[dirnames_tag] or ():
                    if to_text(dirname).startswith(MODULE_DIR_PREFIXES):
                        module_files = [to_text(f) for f in hdr[filenames_tag]]
                        break
                packages.append(normalise_package(record, signature, module_files))
            ts.closeDB()
        finally:
            rpm.delMacro("_dbpath")
            if bdb_ro:
                rpm.delMacro("_db_backend")
        return packages

    def _rpm_argv(self, dbpath):
        argv = ["rpm", "--dbpath", dbpath]
        if self.offline:
            argv[1:1] = ["--root", self.root]
        return argv

    def _packages_from_cli(self, dbpath):
        status, out, msg = self.run(self._rpm_argv(dbpath) + ["-qa", "--qf", PKG_QF])
        if status != OK:
            return status, None, msg
        packages, with_modules, bad = [], [], 0
        for chunk in out.split(RS):
            if not chunk.strip("\n"):
                continue
            fields = chunk.split(FS)
            if len(fields) != len(PKG_FIELDS) + 2:
                bad += 1
                continue
            record = dict(zip(PKG_FIELDS, fields))
            signature = fields[len(PKG_FIELDS)]
            dirnames = [d for d in fields[-1].split(GS) if d]
            pkg = normalise_package(record, unhexlify(signature) if signature != "(none)" else None,
                                    None)
            packages.append(pkg)
            if any(d.startswith(MODULE_DIR_PREFIXES) for d in dirnames):
                with_modules.append(pkg)
        if bad:
            return ERROR, None, "rpm -qa printed %d records that do not parse" % bad
        if with_modules:
            status, msg = self._module_files_from_cli(dbpath, with_modules)
            if status != OK:
                return status, None, msg
        return OK, packages, msg

    def _module_files_from_cli(self, dbpath, pkgs):
        by_key = {}
        for pkg in pkgs:
            by_key[(pkg["name"], pkg["epoch"], pkg["version"], pkg["release"], pkg["arch"])] = pkg
        names = [pkg["nevra"] for pkg in pkgs]
        status, out, msg = self.run(self._rpm_argv(dbpath) + ["-q", "--qf", FILES_QF] + names)
        if status != OK:
            return status, msg
        for chunk in out.split(RS):
            fields = chunk.strip("\n").split(FS)
            if len(fields) != 6:
                continue
            epoch = None if fields[1] == "(none)" else int(fields[1])
            pkg = by_key.get((fields[0], epoch, fields[2], fields[3], fields[4]))
            if pkg is not None:
                pkg["module_files"] = module_paths(fields[5].split(GS))
        return OK, ""

    # -- kernel ---------------------------------------------------------------
    def collect_kernel(self, packages):
        facts = {"release": None, "release_source": None, "cmdline": None, "config_path": None,
                 "config": None, "btf": None, "tainted": None}
        if not self.offline:
            facts["release"] = to_text(os.uname()[2])
            facts["release_source"] = "running"
            self.record("kernel.release", OK)
        else:
            release = newest_kernel_package(packages or [])
            if release:
                facts["release"], facts["release_source"] = release, "newest_installed_package"
                self.record("kernel.release", OK, "offline root: newest installed kernel package")
            else:
                status, names, msg = self.listdir("/lib/modules")
                names = [n for n in names if os.path.isdir(self.path("/lib/modules/" + n))]
                if names:
                    facts["release"] = sorted(names, key=version_key)[-1]
                    facts["release_source"] = "modules_dir"
                    self.record("kernel.release", OK, "offline root: newest /lib/modules directory")
                else:
                    self.record("kernel.release", status if status != OK else ABSENT,
                                msg or "no kernel package and no /lib/modules/* directory")

        status, text, msg = self.read("/proc/cmdline", limit=65536)
        if status == OK:
            facts["cmdline"] = text.strip()
        self.record("kernel.cmdline", status, msg)

        status, msg = ABSENT, "kernel release unknown"
        if facts["release"]:
            config_path = "/boot/config-%s" % facts["release"]
            status, text, msg = self.read(config_path)
            if status == OK:
                facts["config_path"], facts["config"] = config_path, parse_kernel_config(text)
            elif status == ABSENT and not self.offline:
                status, text, msg2 = self.read_gzip("/proc/config.gz")
                if status == OK:
                    facts["config_path"] = "/proc/config.gz"
                    facts["config"] = parse_kernel_config(text)
                    msg = ""
                elif status == ABSENT:
                    msg = "neither %s nor /proc/config.gz exists" % config_path
                else:
                    msg = msg2
        self.record("kernel.config", status, msg)

        facts["btf"], status, msg = self.exists_in_runtime("/sys/kernel/btf/vmlinux")
        self.record("kernel.btf", status, msg)

        status, text, msg = self.read("/proc/sys/kernel/tainted", limit=64)
        if status == OK:
            try:
                facts["tainted"] = int(text.strip())
            except ValueError:
                status, msg = ERROR, "/proc/sys/kernel/tainted is not a number: %r" % text[:40]
        self.record("kernel.tainted", status, msg)
        return facts

    def read_gzip(self, host_path):
        import gzip
        try:
            with gzip.open(self.path(host_path), "rb") as handle:
                return OK, to_text(handle.read(MAX_FILE_BYTES)), ""
        except (IOError, OSError) as exc:
            status = _errno_status(exc)
            return status, None, "%s: %s" % (host_path, getattr(exc, "strerror", None) or exc)

    def exists_in_runtime(self, host_path):
        """(bool|None, status, message) for a /sys or /proc path's existence."""
        if self.runtime_uncaptured(host_path):
            return None, ABSENT, "%s not captured under %s" % (host_path.split("/")[1], self.root)
        try:
            os.stat(self.path(host_path))
            return True, OK, ""
        except (IOError, OSError) as exc:
            status = _errno_status(exc)
            if status == ABSENT:
                return False, OK, "%s does not exist" % host_path
            return None, status, "%s: %s" % (host_path, exc.strerror or exc)

    # -- repos ----------------------------------------------------------------
    def collect_repos(self, os_facts):
        facts = {"main_file": None, "main": None, "vars": {}, "var_sources": {}, "repos": [],
                 "files": []}
        problems = []
        main_file = None
        for candidate in ("/etc/dnf/dnf.conf", "/etc/yum.conf"):
            if os.path.exists(self.path(candidate)):
                main_file = candidate
                break
        sections = []
        if main_file:
            status, text, msg = self.read(main_file)
            entry = {"path": main_file, "status": status, "message": msg}
            if status == OK:
                try:
                    sections = parse_ini(text)
                except IniError as exc:
                    entry.update(status=ERROR, message="%s: %s" % (main_file, exc))
            facts["files"].append(entry)
            if entry["status"] != OK:
                problems.append((entry["status"], entry["message"]))
            facts["main_file"] = main_file
            for name, options in sections:
                if name == "main":
                    facts["main"] = options
        facts["vars"], facts["var_sources"] = self.repo_vars(os_facts)
        repo_dirs = DEFAULT_REPO_DIRS
        if facts["main"] and facts["main"].get("reposdir"):
            repo_dirs = tuple(split_list(facts["main"]["reposdir"]))
        seen = set()
        for name, options in sections:
            if name != "main":
                self._add_repo(facts, seen, name, options, main_file)
        for repo_dir in repo_dirs:
            status, names, msg = self.listdir(repo_dir)
            if status not in (OK, ABSENT):
                facts["files"].append({"path": repo_dir, "status": status, "message": msg})
                problems.append((status, msg))
            for fname in names:
                if not fname.endswith(".repo"):
                    continue
                path = repo_dir.rstrip("/") + "/" + fname
                status, text, msg = self.read(path)
                entry = {"path": path, "status": status, "message": msg}
                if status == OK:
                    try:
                        for section, options in parse_ini(text):
                            self._add_repo(facts, seen, section, options, path)
                    except IniError as exc:
                        # dnf refuses to run with such a file; repos parsed before the bad
                        # line are still reported, and the probe says what broke.
                        entry.update(status=ERROR, message="%s: %s" % (path, exc))
                facts["files"].append(entry)
                if entry["status"] != OK:
                    problems.append((entry["status"], entry["message"]))
        if problems:
            self.record("repos", problems[0][0], "; ".join(m for _, m in problems))
        else:
            self.record("repos", OK if facts["repos"] else ABSENT,
                        "" if facts["repos"] else "no repository is defined")
        return facts

    def _add_repo(self, facts, seen, repo_id, options, path):
        repo = repo_from_options(repo_id, options, path, facts["vars"])
        repo["duplicate"] = repo_id in seen
        seen.add(repo_id)
        facts["repos"].append(repo)

    def repo_vars(self, os_facts):
        """$releasever/$basearch/$arch plus /etc/dnf/vars and /etc/yum/vars, like dnf."""
        values, sources = {}, {}
        arch = os_facts.get("arch")
        if arch:
            values["arch"], sources["arch"] = arch, "os.arch"
            values["basearch"], sources["basearch"] = basearch(arch), "os.arch"
        os_release = os_facts.get("os_release") or {}
        version_id = os_release.get("VERSION_ID")
        if version_id:
            values["releasever"] = version_id.split(".")[0]
            sources["releasever"] = "/etc/os-release VERSION_ID (major)"
        for var_dir in ("/etc/yum/vars", "/etc/dnf/vars"):
            status, names, msg = self.listdir(var_dir)
            for name in names:
                status, text, msg = self.read(var_dir + "/" + name, limit=4096)
                if status == OK and re.match(r"^[A-Za-z0-9_]+$", name):
                    values[name] = text.strip().splitlines()[0] if text.strip() else ""
                    sources[name] = var_dir + "/" + name
        return values, sources

    # -- kernel modules ---------------------------------------------------------
    def collect_kmods(self, packages):
        facts = {"loaded": None, "out_of_tree": [], "dkms": []}
        status, text, msg = self.read("/proc/modules")
        if status == OK:
            facts["loaded"] = parse_proc_modules(text)
        self.record("kmods.loaded", status, msg)

        owners = {}
        for pkg in packages or []:
            for path in pkg.get("module_files") or []:
                owners.setdefault(normalise_module_path(path), []).append(pkg["nevra"])
        failures = []
        status, kernels, msg = self.listdir("/lib/modules")
        if status not in (OK, ABSENT):
            failures.append((status, msg))
        for kernel in kernels:
            for sub in OUT_OF_TREE_DIRS:
                base = "/lib/modules/%s/%s" % (kernel, sub)
                for path, err in self.walk_files(base):
                    if err:
                        failures.append(err)
                        continue
                    if not path.endswith(MODULE_SUFFIXES):
                        continue
                    real = self.path(path)
                    target = to_text(os.readlink(real)) if os.path.islink(real) else None
                    facts["out_of_tree"].append({
                        "path": path, "kernel_release": kernel, "location": sub,
                        "module": module_name(path), "symlink_target": target,
                        "owners": sorted(owners.get(normalise_module_path(path), [])),
                    })
        if failures:
            self.record("kmods.out_of_tree", failures[0][0], "; ".join(m for _, m in failures))
        else:
            self.record("kmods.out_of_tree", OK if kernels else ABSENT,
                        "" if kernels else "no /lib/modules directory")

        status, modules, msg = self.listdir("/var/lib/dkms")
        dkms_failures = []
        for module in modules:
            entry = self.dkms_module(module, dkms_failures)
            if entry:
                facts["dkms"].extend(entry)
        if dkms_failures:
            self.record("kmods.dkms", dkms_failures[0][0], "; ".join(m for _, m in dkms_failures))
        elif status == ABSENT:
            self.record("kmods.dkms", OK, "no /var/lib/dkms: DKMS not in use")
        else:
            self.record("kmods.dkms", status, msg)
        return facts

    def walk_files(self, host_dir):
        real = self.path(host_dir)
        if not os.path.isdir(real):
            return
        errors = []
        for dirpath, dirnames, filenames in os.walk(real, onerror=errors.append):
            dirnames.sort()
            for fname in sorted(filenames):
                full = os.path.join(dirpath, fname)
                yield "/" + os.path.relpath(full, self.root).replace(os.sep, "/") \
                    if self.offline else full, None
        for exc in errors:
            yield None, (_errno_status(exc), "%s: %s" % (host_dir, exc))

    def dkms_module(self, module, failures):
        base = "/var/lib/dkms/" + module
        status, versions, msg = self.listdir(base)
        if status != OK:
            if status != ABSENT:
                failures.append((status, msg))
            return []
        result = []
        for version in versions:
            vdir = base + "/" + version
            real = self.path(vdir)
            if version.startswith("kernel-") or not os.path.isdir(real) or os.path.islink(real):
                continue
            entry = {"module": module, "version": version, "source": None, "kernels": []}
            src = self.path(vdir + "/source")
            if os.path.islink(src):
                entry["source"] = to_text(os.readlink(src))
            status, kernels, msg = self.listdir(vdir)
            if status not in (OK, ABSENT):
                failures.append((status, msg))
            for kernel in kernels:
                if kernel in ("source", "build") or not os.path.isdir(self.path(vdir + "/" + kernel)):
                    continue
                status, arches, msg = self.listdir(vdir + "/" + kernel)
                for arch in arches:
                    mods = [module_name(p) for p, err in
                            self.walk_files("%s/%s/%s/module" % (vdir, kernel, arch))
                            if p and p.endswith(MODULE_SUFFIXES)]
                    installed_link = self.path("%s/kernel-%s-%s" % (base, kernel, arch))
                    entry["kernels"].append({"kernel_release": kernel, "arch": arch,
                                             "modules": sorted(mods),
                                             "installed": os.path.islink(installed_link)})
            result.append(entry)
        return result

    # -- crypto -----------------------------------------------------------------
    def collect_crypto(self, packages, kernel_facts):
        facts = {"proc_crypto": None, "openssl_version": None, "openssl_version_source": None,
                 "openssl_digests": None, "openssl_ciphers": None, "openssl_public_key": None,
                 "policy": None, "fips_enabled": None, "fips_cmdline": None}
        status, text, msg = self.read("/proc/crypto")
        if status == OK:
            facts["proc_crypto"] = parse_proc_crypto(text)
        self.record("crypto.proc_crypto", status, msg)

        if self.offline:
            pkg = find_package(packages or [], ("openssl-libs", "openssl", "openssl3-libs"))
            if pkg:
                facts["openssl_version"] = "%s-%s" % (pkg["version"], pkg["release"])
                facts["openssl_version_source"] = "package " + pkg["nevra"]
                self.record("crypto.openssl_version", OK,
                            "offline root: version of the installed %s package" % pkg["name"])
            else:
                self.record("crypto.openssl_version", ABSENT, "no openssl package installed")
            self.record("crypto.openssl_algorithms", ABSENT,
                        "not collected under --root: binaries inside an offline root are never run")
        else:
            status, out, msg = self.run(["openssl", "version"])
            if status == OK:
                facts["openssl_version"] = out.strip()
                facts["openssl_version_source"] = "openssl version"
            self.record("crypto.openssl_version", status, msg)
            if status == OK:
                self.collect_openssl_lists(facts)
            else:
                self.record("crypto.openssl_algorithms", status, msg)

        status, text, msg = self.read("/etc/crypto-policies/state/current", limit=4096)
        if status == ABSENT:
            status, text, msg = self.read("/etc/crypto-policies/config", limit=4096)
            text = "\n".join(l for l in (text or "").splitlines() if not l.strip().startswith("#"))
        if status == OK:
            facts["policy"] = text.strip() or None
        self.record("crypto.policy", status, msg if status != ABSENT else
                    "no crypto-policies (EL7 and older have none)")

        status, text, msg = self.read("/proc/sys/crypto/fips_enabled", limit=64)
        if status == OK:
            facts["fips_enabled"] = text.strip() == "1"
        cmdline = kernel_facts.get("cmdline")
        if cmdline is not None:
            facts["fips_cmdline"] = "fips=1" in cmdline.split()
        self.record("crypto.fips", status, msg)
        return facts

    def collect_openssl_lists(self, facts):
        failures = []
        for key, new_flag, old_cmd in (("openssl_digests", "-digest-algorithms",
                                        "list-message-digest-algorithms"),
                                       ("openssl_ciphers", "-cipher-algorithms",
                                        "list-cipher-algorithms"),
                                       ("openssl_public_key", "-public-key-algorithms",
                                        "list-public-key-algorithms")):
            status, out, msg = self.run(["openssl", "list", new_flag])
            if status == ERROR:  # OpenSSL 1.0.x (EL7) only knows the old commands
                status, out, msg = self.run(["openssl", old_cmd])
            if status == OK:
                facts[key] = parse_openssl_list(out)
            else:
                failures.append((status, msg))
        if failures:
            self.record("crypto.openssl_algorithms", failures[0][0],
                        "; ".join(m for _, m in failures))
        else:
            self.record("crypto.openssl_algorithms", OK)

    # -- system ------------------------------------------------------------------
    def collect_system(self):
        facts = {"filesystems": [], "uefi": None, "secure_boot": None, "selinux_current": None,
                 "selinux_configured": None, "memory_total_kb": None, "memory_available_kb": None,
                 "cpu_flags": None, "cpu_model": None, "cpu_count": None}
        failures = []
        for mount in ("/", "/var", "/boot", "/usr"):
            real = self.path(mount)
            while not os.path.exists(real) and real != self.root and real != "/":
                real = os.path.dirname(real)
            try:
                st = os.statvfs(real)
                dev = os.stat(real).st_dev
            except (IOError, OSError) as exc:
                failures.append((_errno_status(exc), "statvfs %s: %s" % (mount, exc)))
                continue
            facts["filesystems"].append({
                "path": mount, "device": dev, "total_bytes": st.f_blocks * st.f_frsize,
                "free_bytes": st.f_bfree * st.f_frsize, "avail_bytes": st.f_bavail * st.f_frsize,
                "measured_on": to_text(real)})
        if failures:
            self.record("system.disk", failures[0][0], "; ".join(m for _, m in failures))
        else:
            self.record("system.disk", OK, "offline root: measured on the filesystem holding it"
                        if self.offline else "")

        facts["uefi"], status, msg = self.exists_in_runtime("/sys/firmware/efi")
        if status == OK and facts["uefi"] is False and self.offline and \
                not os.path.isdir(self.path("/sys/firmware")):
            facts["uefi"], status, msg = None, ABSENT, "/sys/firmware not captured under " + self.root
        self.record("system.efi", status, msg)
        if facts["uefi"] is False:
            facts["secure_boot"] = False
            self.record("system.secure_boot", OK, "legacy BIOS boot")
        elif facts["uefi"] is True:
            path = "/sys/firmware/efi/efivars/" + SECURE_BOOT_VAR
            try:
                with open(self.path(path), "rb") as handle:
                    data = bytearray(handle.read(64))
                if len(data) >= 5:
                    facts["secure_boot"] = data[4] == 1
                    self.record("system.secure_boot", OK)
                else:
                    self.record("system.secure_boot", ERROR, "%s is %d bytes" % (path, len(data)))
            except (IOError, OSError) as exc:
                self.record("system.secure_boot", _errno_status(exc), "%s: %s" % (path, exc))
        else:
            self.record("system.secure_boot", status, msg)

        present, status, msg = self.exists_in_runtime("/sys/fs/selinux")
        if present is True:
            status, text, msg = self.read("/sys/fs/selinux/enforce", limit=16)
            if status == OK:
                facts["selinux_current"] = "enforcing" if text.strip() == "1" else "permissive"
        elif present is False:
            facts["selinux_current"] = "disabled"
        self.record("system.selinux", status, msg)
        status, text, msg = self.read("/etc/selinux/config", limit=65536)
        if status == OK:
            for line in text.splitlines():
                m = re.match(r"^\s*SELINUX\s*=\s*(\S+)", line)
                if m:
                    facts["selinux_configured"] = m.group(1).strip("\"'").lower()
        self.record("system.selinux_config", status, msg)

        status, text, msg = self.read("/proc/meminfo", limit=65536)
        if status == OK:
            for line in text.splitlines():
                m = re.match(r"^(MemTotal|MemAvailable):\s+(\d+)", line)
                if m:
                    key = "memory_total_kb" if m.group(1) == "MemTotal" else "memory_available_kb"
                    facts[key] = int(m.group(2))
        self.record("system.memory", status, msg)

        status, text, msg = self.read("/proc/cpuinfo")
        if status == OK:
            count = 0
            for line in text.splitlines():
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "processor":
                    count += 1
                elif key in ("flags", "Features") and facts["cpu_flags"] is None:
                    facts["cpu_flags"] = value.split()
                elif key in ("model name", "CPU part") and facts["cpu_model"] is None:
                    facts["cpu_model"] = value.strip()
            facts["cpu_count"] = count or None
        self.record("system.cpu", status, msg)
        return facts

    # -- package manager state ------------------------------------------------------
    def collect_pkgmgr(self, packages):
        """Where packages came from (dnf history / yumdb), locks, rpmdb files, our user."""
        facts = {"origins": None, "origins_source": None, "locks": [], "rpmdb_path": None,
                 "rpmdb_files": None, "euid": None}
        status, msg = ABSENT, "neither /var/lib/dnf/history.sqlite nor /var/lib/yum/yumdb exists"
        if os.path.exists(self.path("/var/lib/dnf/history.sqlite")):
            status, origins, msg = self.dnf_origins()
            if status == OK:
                facts["origins"], facts["origins_source"] = origins, "/var/lib/dnf/history.sqlite"
        if facts["origins"] is None and os.path.isdir(self.path("/var/lib/yum/yumdb")):
            status, origins, msg = self.yumdb_origins()
            if status == OK:
                facts["origins"], facts["origins_source"] = origins, "/var/lib/yum/yumdb"
        self.record("pkgmgr.origins", status, msg)

        for lock in ("/var/run/yum.pid", "/run/yum.pid", "/var/lib/dnf/rpmdb_lock.pid",
                     "/var/cache/dnf/metadata_lock.pid", "/var/cache/dnf/download_lock.pid",
                     "/var/log/log_lock.pid", "/var/cache/yum/x86_64/yum.pid"):
            status, text, msg = self.read(lock, limit=64)
            if status != OK:
                continue
            pid = int(text.strip()) if text.strip().isdigit() else None
            alive = None
            if pid is not None and not self.offline:
                alive = os.path.exists("/proc/%d" % pid)
            facts["locks"].append({"path": lock, "pid": pid, "alive": alive})
        self.record("pkgmgr.locks", OK, "offline root: whether lock holders run is unknown"
                    if self.offline and facts["locks"] else "")

        dbpath, _ = self.rpm_dbpath()
        if dbpath:
            status, names, msg = self.listdir(dbpath)
            if status == OK:
                facts["rpmdb_path"] = dbpath
                facts["rpmdb_files"] = names
            self.record("pkgmgr.rpmdb_files", status, msg)
        else:
            self.record("pkgmgr.rpmdb_files", ABSENT, "no rpmdb")

        if self.offline:
            self.record("system.user", ABSENT, "offline root: the user who will apply is not known")
        else:
            facts["euid"] = os.geteuid()
            self.record("system.user", OK)
        return facts

    def dnf_origins(self):
        """NEVRA -> repo id from dnf's history database, opened read-only and immutable
        (no locks, no -shm/-wal files: sqlite writes nothing)."""
        try:
            import sqlite3
        except ImportError as exc:
            return ERROR, None, "sqlite3 module unavailable: %s" % exc
        path = self.path("/var/lib/dnf/history.sqlite")
        if sys.version_info < (3, 4):  # pragma: no cover - EL7's python2 has no uri= (and no dnf)
            return ERROR, None, "reading dnf history needs Python >= 3.4"
        try:
            uri = "file:%s?mode=ro&immutable=1" % path.replace("?", "%3f").replace("#", "%23")
            conn = sqlite3.connect(uri, uri=True)  # novermin: guarded by the version check above
            try:
                rows = conn.execute(
                    "SELECT r.name, r.epoch, r.version, r.release, r.arch, repo.repoid "
                    "FROM trans_item ti JOIN rpm r ON r.item_id = ti.item_id "
                    "JOIN repo ON repo.id = ti.repo_id "
                    # install, downgrade, upgrade, reinstall; state done
                    "WHERE ti.action IN (1, 2, 6, 9) AND ti.state = 1 ORDER BY ti.id").fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            return ERROR, None, "/var/lib/dnf/history.sqlite: %s" % exc
        origins = {}
        for name, epoch, version, release, arch, repoid in rows:
            key = nevra({"name": to_text(name), "epoch": epoch or None, "version": to_text(version),
                         "release": to_text(release), "arch": to_text(arch)})
            origins[key] = to_text(repoid)
        return OK, origins, ""

    def yumdb_origins(self):
        """NEVRA -> repo id from yum's yumdb (EL7): <letter>/<pkgid>-<n>-<v>-<r>-<a>/from_repo."""
        origins, failures = {}, []
        status, letters, msg = self.listdir("/var/lib/yum/yumdb")
        if status != OK:
            return status, None, msg
        for letter in letters:
            status, entries, msg = self.listdir("/var/lib/yum/yumdb/" + letter)
            for entry in entries:
                parts = entry.split("-", 1)
                fields = parts[1].rsplit("-", 3) if len(parts) == 2 else []
                if len(fields) != 4:
                    continue
                status, text, msg = self.read("/var/lib/yum/yumdb/%s/%s/from_repo" % (letter, entry),
                                              limit=4096)
                if status == OK:
                    name, version, release, arch = fields
                    epoch = None
                    st, etext, _ = self.read("/var/lib/yum/yumdb/%s/%s/epoch" % (letter, entry), limit=64)
                    if st == OK and etext.strip().isdigit() and etext.strip() != "0":
                        epoch = int(etext.strip())
                    origins[nevra({"name": name, "epoch": epoch, "version": version,
                                   "release": release, "arch": arch})] = text.strip()
                elif status != ABSENT:
                    failures.append((status, msg))
        if failures:
            return failures[0][0], None, "; ".join(m for _, m in failures[:3])
        return OK, origins, ""

    # -- workloads: what the host runs that needs kernel features or SM crypto ------------
    def collect_workloads(self):
        facts = {"container_images": None, "k8s_manifests": [], "cni_configs": [],
                 "bpf_pinned": None, "kubelet_config": None, "kubelet_cgroup_driver": None,
                 "cgroup_v2": None, "openssl_sm_lines": [], "sm2_certificates": []}
        images, failures = [], []
        for path in ("/var/lib/docker/image/overlay2/repositories.json",
                     "/var/lib/docker/image/devicemapper/repositories.json"):
            status, text, msg = self.read(path)
            if status == OK:
                try:
                    repos = json.loads(text).get("Repositories") or {}
                    for tags in repos.values():
                        for ref in tags:
                            if "@sha256:" not in ref:
                                images.append({"ref": ref, "source": path})
                except (ValueError, AttributeError) as exc:
                    failures.append((ERROR, "%s: %s" % (path, exc)))
            elif status != ABSENT:
                failures.append((status, msg))
        meta = "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db"
        status, data, msg = self.read_bytes(meta, 256 * 1024 * 1024)
        if status == OK:
            # A bolt database: image names are stored as plain keys; read them by pattern.
            seen = set()
            for match in IMAGE_REF.finditer(data):
                ref = to_text(match.group(0))
                if ref not in seen:
                    seen.add(ref)
                    images.append({"ref": ref, "source": meta})
        elif status != ABSENT:
            failures.append((status, msg))
        facts["container_images"] = sorted(images, key=lambda i: (i["ref"], i["source"]))
        self.record("workloads.images", failures[0][0] if failures else OK,
                    "; ".join(m for _, m in failures))

        failures = []
        for directory, key, pattern in (("/etc/kubernetes/manifests", "k8s_manifests", (".yaml", ".yml", ".json")),
                                        ("/etc/cni/net.d", "cni_configs", (".conf", ".conflist", ".json"))):
            status, names, msg = self.listdir(directory)
            if status not in (OK, ABSENT):
                failures.append((status, msg))
            for name in names:
                if not name.endswith(pattern):
                    continue
                st, text, m = self.read(directory + "/" + name, limit=1024 * 1024)
                if st != OK:
                    failures.append((st, m))
                    continue
                refs = sorted(set(to_text(r.group(1)) for r in MANIFEST_IMAGE.finditer(text)))
                types = sorted(set(to_text(t.group(1)) for t in CNI_TYPE.finditer(text)))
                facts[key].append({"path": directory + "/" + name, "images": refs, "types": types})
        self.record("workloads.k8s_files", failures[0][0] if failures else OK,
                    "; ".join(m for _, m in failures))

        if self.runtime_uncaptured("/sys/fs/bpf"):
            self.record("workloads.bpf_pinned", ABSENT, "/sys not captured under " + self.root)
        else:
            pinned, errors = [], []
            for path, err in self.walk_files("/sys/fs/bpf"):
                if err:
                    errors.append(err)
                elif len(pinned) < 2000:
                    pinned.append(path)
            facts["bpf_pinned"] = pinned
            self.record("workloads.bpf_pinned", errors[0][0] if errors else OK,
                        "; ".join(m for _, m in errors) or
                        ("" if os.path.isdir(self.path("/sys/fs/bpf")) else "/sys/fs/bpf not mounted"))

        status, text, msg = self.read("/var/lib/kubelet/config.yaml", limit=1024 * 1024)
        if status == OK:
            facts["kubelet_config"] = "/var/lib/kubelet/config.yaml"
            m = re.search(r"^cgroupDriver:\s*\"?([A-Za-z]+)", text, re.M)
            facts["kubelet_cgroup_driver"] = m.group(1) if m else None
        if status in (OK, ABSENT):
            st, text2, m2 = self.read("/etc/sysconfig/kubelet", limit=65536)
            if st == OK:
                m = re.search(r"--cgroup-driver[= ]([A-Za-z]+)", text2)
                if m:
                    facts["kubelet_cgroup_driver"] = m.group(1)
        self.record("workloads.kubelet", status, msg if status != ABSENT else "no kubelet config")

        present, status, msg = self.exists_in_runtime("/sys/fs/cgroup/cgroup.controllers")
        facts["cgroup_v2"] = present
        self.record("system.cgroup", status, msg if status != OK else
                    ("unified cgroup v2 hierarchy" if present else "cgroup v1 (or hybrid)"))

        failures = []
        for conf in ("/etc/pki/tls/openssl.cnf", "/etc/ssl/openssl.cnf"):
            status, text, msg = self.read(conf, limit=1024 * 1024)
            if status == OK:
                for number, line in enumerate(text.splitlines(), 1):
                    stripped = line.strip()
                    if stripped and not stripped.startswith("#") and SM_WORD.search(stripped):
                        facts["openssl_sm_lines"].append({"path": conf, "line": number,
                                                          "text": stripped[:200]})
            elif status != ABSENT:
                failures.append((status, msg))
        scanned = 0
        for path, err in self.walk_files("/etc/pki"):
            if err:
                failures.append(err)
                continue
            if not path.endswith((".pem", ".crt", ".cer", ".der", ".key")) or scanned >= 5000:
                continue
            scanned += 1
            st, data, m = self.read_bytes(path, 512 * 1024)
            if st == OK:
                found = sm_oids(data)
                if found:
                    facts["sm2_certificates"].append({"path": path, "oids": found})
        self.record("workloads.sm_usage", failures[0][0] if failures else OK,
                    "; ".join(m for _, m in failures[:3]))
        return facts

    def read_bytes(self, host_path, limit):
        real = self.path(host_path)
        try:
            if os.path.islink(real) and self.offline:
                # An absolute link inside an offline root points into the controller: resolve
                # it under the root instead (read-only either way).
                target = os.readlink(real)
                if target.startswith("/"):
                    real = self.path(target)
            with open(real, "rb") as handle:
                return OK, handle.read(limit), ""
        except (IOError, OSError) as exc:
            return _errno_status(exc), None, "%s: %s" % (host_path, exc.strerror or exc)

    # -- everything --------------------------------------------------------------
    def collect(self):
        started = time.time()
        os_facts = self.collect_os()
        packages = self.collect_packages()
        os_facts["arch"], arch_msg = self.detect_arch(packages)
        arch_status = OK
        if not os_facts["arch"]:
            pkg_status = self.probes["packages"]["status"]
            arch_status = pkg_status if pkg_status in FAILED_STATUSES else ABSENT
        self.record("os.arch", arch_status, arch_msg)
        kernel = self.collect_kernel(packages)
        facts = {
            "schema_version": SCHEMA_VERSION,
            "collector": {"version": COLLECTOR_VERSION, "python": "%d.%d.%d" % sys.version_info[:3],
                          "rpm_backend": None, "duration_s": None},
            "collected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "root": None if not self.offline else to_text(self.root),
            "os": os_facts,
            "kernel": kernel,
            "packages": packages,
            "repos": self.collect_repos(os_facts),
            "kmods": self.collect_kmods(packages),
            "crypto": self.collect_crypto(packages, kernel),
            "system": self.collect_system(),
            "pkgmgr": self.collect_pkgmgr(packages),
            "workloads": self.collect_workloads(),
        }
        facts["collector"]["rpm_backend"] = self.rpm_backend_used
        facts["collector"]["duration_s"] = round(time.time() - started, 3)
        facts["probes"] = self.probes
        return facts

    def detect_arch(self, packages):
        if not self.offline:
            return to_text(os.uname()[4]), ""
        counts = {}
        for pkg in packages or []:
            if pkg["name"] in KERNEL_PACKAGES:
                return pkg["arch"], "offline root: architecture of the kernel package"
            if pkg["arch"] not in ("noarch", None):
                counts[pkg["arch"]] = counts.get(pkg["arch"], 0) + 1
        if counts:
            return max(sorted(counts), key=lambda a: counts[a]), \
                "offline root: most common package architecture"
        for binary in ("/usr/bin/bash", "/usr/bin/sh", "/bin/sh", "/usr/bin/python3"):
            arch = self.elf_arch(binary)
            if arch:
                return arch, "offline root: ELF machine of %s" % binary
        return None, "offline root without packages or ELF binaries: architecture unknown"

    def elf_arch(self, host_path):
        """Architecture from an ELF header (e_machine), read-only, never executed."""
        try:
            with open(self.path(host_path), "rb") as handle:
                header = bytearray(handle.read(20))
        except (IOError, OSError):
            return None
        if len(header) < 20 or header[:4] != bytearray(b"\x7fELF"):
            return None
        little = header[5] == 1
        machine = header[18] | (header[19] << 8) if little else (header[18] << 8) | header[19]
        if machine == 0x15:
            return "ppc64le" if little else "ppc64"
        return ELF_MACHINES.get(machine)


# -- parsers (pure functions; doctested by the test suite) -------------------------

def parse_os_release(text):
    """Parse os-release(5) lines into a dict.

    >>> parse_os_release('NAME="CentOS Linux"\\nVERSION_ID="8"\\n# c\\nBAD\\n')
    {'NAME': 'CentOS Linux', 'VERSION_ID': '8'}
    """
    result = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            value = re.sub(r"\\(.)", r"\1", value)
        result[key.strip()] = value
    return result


def parse_kernel_config(text):
    """CONFIG_X=y/m/"str"/n ('# CONFIG_X is not set' becomes 'n').

    >>> sorted(parse_kernel_config('CONFIG_A=y\\n# CONFIG_B is not set\\nCONFIG_C="x"\\n').items())
    [('CONFIG_A', 'y'), ('CONFIG_B', 'n'), ('CONFIG_C', 'x')]
    """
    config = {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$", line)
        if m:
            config[m.group(1)] = "n"
            continue
        m = re.match(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$", line)
        if m:
            value = m.group(2)
            if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            config[m.group(1)] = value
    return config


def parse_proc_modules(text):
    """Parse /proc/modules.

    >>> parse_proc_modules('wireguard 229376 0 - Live 0xffffffffc0a1b000 (OE)\\n')[0]['taint']
    'OE'
    """
    modules = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        used_by = [] if len(parts) < 4 or parts[3] == "-" else [u for u in parts[3].split(",") if u]
        taint = None
        if parts[-1].startswith("(") and parts[-1].endswith(")"):
            taint = parts[-1][1:-1]
        modules.append({
            "name": parts[0],
            "size": int(parts[1]) if parts[1].isdigit() else None,
            "refcount": int(parts[2]) if parts[2].isdigit() else None,
            "used_by": used_by,
            "state": parts[4] if len(parts) > 4 else None,
            "taint": taint,
        })
    return modules


def parse_proc_crypto(text):
    """Parse /proc/crypto into a list of dicts (name, driver, module, type, priority...)."""
    entries, current = [], {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                entries.append(current)
                current = {}
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("name", "driver", "module", "type", "selftest", "internal", "fips_allowed"):
            current[key] = value
        elif key == "priority":
            current[key] = int(value) if value.lstrip("-").isdigit() else None
    return [{"name": e.get("name"), "driver": e.get("driver"), "module": e.get("module"),
             "type": e.get("type"), "priority": e.get("priority"),
             "selftest": e.get("selftest"), "fips_allowed": e.get("fips_allowed")}
            for e in entries if e.get("name")]


def parse_openssl_list(text):
    """Names from `openssl list -*-algorithms` (1.0.x, 1.1.x and 3.x formats).

    >>> parse_openssl_list('Legacy:\\n  SM3\\n  { 1.2.156.10197.1.401, SM3 } @ default\\nRSA-SHA256 => RSA\\n')
    ['RSA-SHA256', 'SM3']
    """
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.endswith(":") or line.startswith(("Name:", "Type:", "PEM", "OID")):
            continue
        if line.startswith("{"):
            inner = line[1:line.find("}")] if "}" in line else line[1:]
            for item in inner.split(","):
                item = item.strip()
                if item and not re.match(r"^[0-9.]+$", item):
                    names.add(item)
            continue
        name = line.split(" => ")[0].split()[0]
        names.add(name)
    return sorted(names)


class IniError(ValueError):
    """A .repo/.conf file that dnf itself would refuse to parse."""


def parse_ini(text):
    """Parse dnf-style ini: [sections], key=value, #/; comments, indented continuations.

    Returns [(section, {key: value})] in file order; continuation lines join with newlines.

    >>> parse_ini('[base]\\nname=Base\\nbaseurl=http://a/\\n  http://b/\\n')
    [('base', {'name': 'Base', 'baseurl': 'http://a/\\nhttp://b/'})]
    """
    sections, current, last_key = [], None, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            last_key = None if current is None else last_key
            continue
        if stripped[0] in "#;":
            continue
        if line[0] in " \t" and last_key is not None:
            current[1][last_key] = (current[1][last_key] + "\n" + stripped).strip("\n")
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]") or len(stripped) < 3:
                raise IniError("line %d: malformed section header %r" % (number, stripped[:60]))
            current = (stripped[1:-1].strip(), {})
            sections.append(current)
            last_key = None
            continue
        if "=" not in stripped:
            raise IniError("line %d: expected key=value, got %r" % (number, stripped[:60]))
        if current is None:
            raise IniError("line %d: option before any [section]" % number)
        key, value = stripped.split("=", 1)
        last_key = key.strip().lower()
        if not last_key:
            raise IniError("line %d: empty option name" % number)
        current[1][last_key] = value.strip()
    return sections


def split_list(value):
    """dnf's list options: separated by whitespace and/or commas."""
    return [item for item in re.split(r"[\s,]+", value or "") if item]


def expand_vars(value, variables):
    """Replace $var and ${var} the way dnf substitutes; unknown variables stay."""
    def repl(match):
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))
    return re.sub(r"\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)", repl, value)


def parse_bool(value, default):
    if value is None:
        return default
    value = value.strip().lower()
    if value in ("1", "yes", "true", "on", "enabled"):
        return True
    if value in ("0", "no", "false", "off", "disabled"):
        return False
    return default


def repo_from_options(repo_id, options, path, variables):
    baseurl = split_list(options.get("baseurl"))
    gpgkey = split_list(options.get("gpgkey"))
    mirrorlist = options.get("mirrorlist") or None
    metalink = options.get("metalink") or None
    return {
        "id": repo_id,
        "name": options.get("name"),
        "file": path,
        "baseurl": baseurl,
        "mirrorlist": mirrorlist,
        "metalink": metalink,
        "enabled": parse_bool(options.get("enabled"), True),
        "gpgcheck": parse_bool(options.get("gpgcheck"), None),
        "gpgkey": gpgkey,
        "expanded": {
            "name": expand_vars(options.get("name") or "", variables) or None,
            "baseurl": [expand_vars(u, variables) for u in baseurl],
            "mirrorlist": expand_vars(mirrorlist, variables) if mirrorlist else None,
            "metalink": expand_vars(metalink, variables) if metalink else None,
            "gpgkey": [expand_vars(k, variables) for k in gpgkey],
        },
        "options": options,
    }


def basearch(arch):
    if arch in ("i386", "i486", "i586", "i686", "athlon", "geode"):
        return "i386"
    if arch.startswith("armv7") or arch.startswith("armv6"):
        return "armhfp"
    if arch in ("ppc64le", "ppc64", "s390x", "x86_64", "aarch64", "loongarch64", "riscv64"):
        return arch
    return arch


def sm_oids(data):
    """SM2 OIDs found in a DER or PEM blob (PEM bodies are base64-decoded first)."""
    import base64
    blobs = [data]
    for match in re.finditer(br"-----BEGIN [A-Z0-9 ]+-----(.+?)-----END", data, re.S):
        try:
            blobs.append(base64.b64decode(re.sub(br"\s+", b"", match.group(1))))
        except (TypeError, ValueError):
            continue
    found = set()
    for blob in blobs:
        for der, name in SM_OIDS:
            if der in blob:
                found.add(name)
    return sorted(found)


def rpm_version(rpm_module):
    """(major, minor) of the rpm bindings; their __version_info__ holds strings."""
    parts = []
    for item in tuple(getattr(rpm_module, "__version_info__", ()) or ())[:2]:
        try:
            parts.append(int(item))
        except (TypeError, ValueError):
            break
    return tuple(parts)


def _clean(value):
    """Header values: bytes (py2, old bindings) to text; rpm's "(none)" and "" to None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif PY2 and not isinstance(value, text_type):  # pragma: no cover
        value = text_type(value)
    if value == "(none)" or value == "":
        return None
    return value


def normalise_package(record, signature, module_files):
    """Turn raw header values (bindings or --qf text) into the facts' package dict.

    `signature` is the raw OpenPGP signature packet (bytes) or None.
    """
    epoch = _clean(record.get("epoch"))
    install_time = _clean(record.get("install_time"))
    size = _clean(record.get("size"))
    key_id, sig_algo = parse_pgp_signature(signature) if signature else (None, None)
    pkg = {
        "name": _clean(record["name"]),
        "epoch": int(epoch) if epoch is not None else None,
        "version": _clean(record["version"]),
        "release": _clean(record["release"]),
        "arch": _clean(record["arch"]),
        "vendor": _clean(record.get("vendor")),
        "packager": _clean(record.get("packager")),
        "install_time": int(install_time) if install_time is not None else None,
        "source_rpm": _clean(record.get("source_rpm")),
        "size": int(size) if size is not None else None,  # installed bytes
        "sigkey_id": key_id,
        "sig_algo": sig_algo,
        "module_files": module_paths(module_files) if module_files else [],
    }
    pkg["nevra"] = nevra(pkg)
    return pkg


def unhexlify(text):
    import binascii
    try:
        return binascii.unhexlify(text.strip())
    except (TypeError, ValueError):
        return None


# OpenPGP algorithm ids (RFC 4880 9.1, 9.4; RFC 9580) named as rpm's pgpsig prints them.
PGP_PUBKEY_ALGOS = {1: "RSA", 2: "RSA", 3: "RSA", 17: "DSA", 19: "ECDSA", 22: "EdDSA", 27: "Ed25519",
                    28: "Ed448"}
PGP_HASH_ALGOS = {1: "MD5", 2: "SHA1", 3: "RIPEMD160", 8: "SHA256", 9: "SHA384", 10: "SHA512",
                  11: "SHA224", 12: "SHA3-256", 14: "SHA3-512"}


def _pgp_subpacket_issuer(area):
    """The issuer key id in a v4 signature subpacket area, or None."""
    pos, found = 0, None
    while pos < len(area):
        first = area[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 255:
            if pos + 1 >= len(area):
                return found
            length, pos = ((first - 192) << 8) + area[pos + 1] + 192, pos + 2
        else:
            if pos + 4 >= len(area):
                return found
            length = (area[pos + 1] << 24) | (area[pos + 2] << 16) | (area[pos + 3] << 8) | area[pos + 4]
            pos += 5
        if length < 1 or pos + length > len(area):
            return found
        kind, body = area[pos] & 0x7F, area[pos + 1:pos + length]
        if kind == 16 and len(body) == 8:  # issuer key id
            return "".join("%02x" % b for b in body)
        if kind == 33 and len(body) >= 9 and found is None:  # issuer fingerprint: key id = last 8
            found = "".join("%02x" % b for b in body[-8:])
        pos += length
    return found


def parse_pgp_signature(blob):
    """(key id, "ALGO/HASH") from the OpenPGP signature packet rpm stores in a header.

    >>> parse_pgp_signature(bytearray.fromhex('8901330400010800' '0a' '0910b40109e518fcf6c2' '0000'))
    ('b40109e518fcf6c2', 'RSA/SHA256')
    """
    data = bytearray(blob or b"")
    if len(data) < 2 or not data[0] & 0x80:
        return None, None
    if data[0] & 0x40:  # new packet format
        first = data[1]
        pos = 2 if first < 192 else 3 if first < 224 else 6
    else:
        pos = 1 + {0: 1, 1: 2, 2: 4, 3: 0}[data[0] & 3]
    body = data[pos:]
    if len(body) < 6:
        return None, None
    version = body[0]
    if version == 3 and len(body) >= 17:
        key_id = "".join("%02x" % b for b in body[7:15])
        pubkey, digest = body[15], body[16]
    elif version in (4, 5, 6):
        pubkey, digest = body[2], body[3]
        if version == 6:  # four-octet subpacket area lengths
            hlen = (body[4] << 24) | (body[5] << 16) | (body[6] << 8) | body[7]
            hashed = body[8:8 + hlen]
            rest = body[8 + hlen:]
            ulen = (rest[0] << 24) | (rest[1] << 16) | (rest[2] << 8) | rest[3] if len(rest) >= 4 else 0
            unhashed = rest[4:4 + ulen]
        else:
            hlen = (body[4] << 8) | body[5]
            hashed = body[6:6 + hlen]
            rest = body[6 + hlen:]
            ulen = (rest[0] << 8) | rest[1] if len(rest) >= 2 else 0
            unhashed = rest[2:2 + ulen]
        key_id = _pgp_subpacket_issuer(unhashed) or _pgp_subpacket_issuer(hashed)
    else:
        return None, None
    algo = "%s/%s" % (PGP_PUBKEY_ALGOS.get(pubkey, "unknown(%d)" % pubkey),
                      PGP_HASH_ALGOS.get(digest, "unknown(%d)" % digest))
    return key_id, algo


def nevra(pkg):
    epoch = "%s:" % pkg["epoch"] if pkg.get("epoch") else ""
    if pkg.get("arch"):
        return "%s-%s%s-%s.%s" % (pkg["name"], epoch, pkg["version"], pkg["release"], pkg["arch"])
    return "%s-%s%s-%s" % (pkg["name"], epoch, pkg["version"], pkg["release"])


def module_paths(paths):
    return sorted(to_text(p) for p in paths
                  if p and to_text(p).startswith(MODULE_DIR_PREFIXES) and
                  to_text(p).endswith(MODULE_SUFFIXES))


def normalise_module_path(path):
    """/usr/lib/modules and /lib/modules are the same directory on EL7+."""
    return path[4:] if path.startswith("/usr/lib/modules/") else path


def module_name(path):
    """Kernel module name as modprobe uses it: basename without .ko[.xz|.gz|.zst|.bz2],
    dashes read as underscores (kmod treats them alike).

    >>> module_name("/lib/modules/4.18.0/kernel/drivers/net/e1000e.ko.xz"), module_name("nf-nat")
    ('e1000e', 'nf_nat')
    """
    base = path.rsplit("/", 1)[-1]
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix):
            base = base[:-len(suffix)]
            break
    return base.replace("-", "_")


def find_package(packages, names):
    for name in names:
        matches = [p for p in packages if p["name"] == name]
        if matches:
            return sorted(matches, key=lambda p: evr_key(p))[-1]
    return None


def newest_kernel_package(packages):
    kernels = [p for p in packages if p["name"] in KERNEL_PACKAGES]
    if not kernels:
        return None
    newest = sorted(kernels, key=evr_key)[-1]
    return "%s-%s.%s" % (newest["version"], newest["release"], newest["arch"])


# -- rpm version comparison ------------------------------------------------------
# rpmvercmp semantics (rpm >= 4.15: ~ sorts before anything, ^ after the base but
# before anything else), so both sides of the wire order versions exactly like rpm.

_SEGMENT = re.compile(r"([0-9]+|[A-Za-z]+|~|\^)")


def rpmvercmp(a, b):
    """Compare two version or release strings like rpm does: -1, 0 or 1.

    >>> [rpmvercmp('1.0', '1.0.1'), rpmvercmp('1.0~rc1', '1.0'), rpmvercmp('2.0a', '2.0'), rpmvercmp('1.0^1', '1.0')]
    [-1, -1, 1, 1]
    """
    a, b = a or "", b or ""
    if a == b:
        return 0
    sa, sb = _SEGMENT.findall(a), _SEGMENT.findall(b)
    while sa or sb:
        x = sa.pop(0) if sa else None
        y = sb.pop(0) if sb else None
        if x == "~" or y == "~":
            if x != "~":
                return 1
            if y != "~":
                return -1
            continue
        if x == "^" or y == "^":
            if x is None:
                return -1
            if y is None:
                return 1
            if x != "^":
                return 1
            if y != "^":
                return -1
            continue
        if x is None:
            return -1
        if y is None:
            return 1
        if x.isdigit() and y.isdigit():
            x, y = int(x), int(y)
        elif x.isdigit():
            return 1
        elif y.isdigit():
            return -1
        if x != y:
            return 1 if x > y else -1
    return 0


def labelcompare(evr1, evr2):
    """Compare (epoch, version, release) tuples like rpm.labelCompare."""
    e1, e2 = int(evr1[0] or 0), int(evr2[0] or 0)
    if e1 != e2:
        return 1 if e1 > e2 else -1
    return rpmvercmp(evr1[1], evr2[1]) or rpmvercmp(evr1[2], evr2[2])


class _VersionKey(object):
    def __init__(self, evr):
        self.evr = evr

    def __lt__(self, other):
        return labelcompare(self.evr, other.evr) < 0

    def __eq__(self, other):
        return labelcompare(self.evr, other.evr) == 0


def evr_key(pkg):
    return _VersionKey((pkg.get("epoch"), pkg.get("version"), pkg.get("release")))


def version_key(release):
    return _VersionKey((None, release, ""))


# -- entry point --------------------------------------------------------------------

def root_problem(root):
    """Why --root cannot be read, or None."""
    try:
        os.listdir(root)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return "--root %s does not exist" % root
        if exc.errno == errno.ENOTDIR:
            return "--root %s is not a directory" % root
        return "--root %s cannot be read: %s" % (root, exc.strerror or exc)
    return None


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="collector", description="Collect read-only host facts "
                                     "for migrate and print them as JSON.")
    parser.add_argument("--root", default=None, help="read a host mounted at DIR instead of /")
    parser.add_argument("--rpm-backend", choices=("auto", "bindings", "cli"), default="auto")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-command timeout (s)")
    args = parser.parse_args(argv)
    if args.root is not None:
        problem = root_problem(args.root)
        if problem:
            sys.stderr.write("collector: %s\n" % problem)
            return 2
    facts = Collector(root=args.root, rpm_backend=args.rpm_backend, timeout=args.timeout).collect()
    out = json.dumps(facts, sort_keys=True)
    if PY2:  # pragma: no cover
        sys.stdout.write(out.encode("utf-8") if isinstance(out, text_type) else out)
    else:
        sys.stdout.write(out)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
