"""The plan: an ordered list of steps, each with the exact argv of its commands.

A command is a dict: {"argv": [...], "capture": "relative/path" (stdout saved in the run
directory), "ok": [exit codes accepted]}. Steps whose argv depends on the state reached at run
time (which kernel is newest, which packages distro-sync replaced) have a `dynamic` function,
called by the executor just before the step runs; the plan shows what it will compute, and the
journal records the argv actually run. The point of no return is the first step with
`point_of_no_return=True` (distro-sync): from there on, rollback is a best-effort downgrade.
"""
from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

DBPATH = "/var/lib/rpm"
QF = r"%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\t%{VENDOR}\n"  # rpm expands \t \n

# Files backed up before anything changes (those that exist at plan time).
BACKUP_PATHS = ("etc/yum.repos.d", "etc/os-release", "usr/lib/os-release", "etc/system-release",
                "etc/system-release-cpe", "etc/redhat-release", "etc/centos-release",
                "etc/dnf/modules.d", "etc/dnf/dnf.conf", "etc/default/grub", "boot/grub2/grubenv",
                "etc/pki/rpm-gpg")


@dataclass
class Context:
    root: str                      # "/" or an absolute installroot
    target: Any                    # the target Manifest
    run_id: str
    target_repos: List[str] = field(default_factory=list)   # --target-repo (URL or DIR); else manifest
    source_repos: List[str] = field(default_factory=list)   # --source-repo, for rollback
    gpgcheck: bool = True
    gpg_keys: List[str] = field(default_factory=list)   # --gpg-key files (else the manifest's keys
                                                        # arrive with the target release package)
    installed: Dict[str, List[str]] = field(default_factory=dict)   # name -> [E:V-R.A]
    vendors: Dict[str, str] = field(default_factory=dict)
    runner: Any = None             # the Runner acting on the host (local or SSH)

    @staticmethod
    def key_path(key: str) -> str:
        return "etc/pki/rpm-gpg/%s" % os.path.basename(key)

    @property
    def installroot(self) -> bool:
        return os.path.abspath(self.root) != "/"

    @property
    def run_dir(self) -> str:
        return os.path.join(self.root, "var/lib/migrate", self.run_id)

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel.lstrip("/"))

    @property
    def releasever(self) -> str:
        return str(self.target.el_major or self.target.version).split(".")[0]

    @property
    def target_repo_ids(self) -> List[str]:
        if self.target_repos:
            return ["migrate-target-%d" % i for i in range(len(self.target_repos))]
        return [r.id for r in self.target.repos if r.enabled]

    @property
    def repo_file(self) -> str:
        return "etc/yum.repos.d/migrate-%s.repo" % self.target.id

    # --- argv builders -------------------------------------------------------------------
    def rpm(self) -> List[str]:
        argv = ["rpm"]
        if self.installroot:
            argv += ["--root", self.root]
        return argv + ["--dbpath", DBPATH]

    def dnf(self, repos: str = "target") -> List[str]:
        """dnf never reads the host's repos: reposdir is always given explicitly.
        repos: "target" (the run's target repos), "source" (rollback), "none" (rpmdb queries)."""
        argv = ["dnf", "-y"]
        if self.installroot:
            argv += ["--installroot=%s" % self.root, "--config=%s" % os.path.join(self.run_dir, "dnf.conf")]
        # metadata_expire=0: every command rechecks repomd.xml (cheap), so a resumed run sees a fixed mirror
        argv += ["--releasever=%s" % self.releasever, "--noplugins", "--setopt=install_weak_deps=False",
                 "--setopt=metadata_expire=0"]
        if repos == "target":
            argv += ["--setopt=reposdir=%s" % self.path("etc/yum.repos.d")]
            argv += ["--repo=%s" % rid for rid in self.target_repo_ids]
        elif repos == "none":   # queries of the rpmdb only (`--repo=` would filter installed packages)
            argv += ["--setopt=reposdir=%s" % os.path.join(self.run_dir, "empty")]
        else:  # the source: --source-repo, or the backed-up .repo files
            if self.source_repos:
                argv += ["--setopt=reposdir=%s" % os.path.join(self.run_dir, "empty")]
                for i, url in enumerate(self.source_repos):
                    argv += ["--repofrompath=migrate-source-%d,%s" % (i, _url(url))]
                argv += ["--repo=migrate-source-%d" % i for i in range(len(self.source_repos))]
            else:
                argv += ["--setopt=reposdir=%s" % os.path.join(self.run_dir, "backup/files/etc/yum.repos.d")]
        if not self.gpgcheck:
            argv += ["--nogpgcheck"]
        return argv

    def env(self) -> Dict[str, str]:
        # dnf's output reaches the log on the host as it happens, not at exit (a runner that
        # dies mid-transaction leaves a log showing how far dnf got)
        env = {"PYTHONUNBUFFERED": "1"}
        if self.installroot:   # Debian's rpm/dnf keep the rpmdb in ~/.rpmdb unless %_dbpath says otherwise
            env["HOME"] = os.path.join(self.run_dir, "home")
        return env

    def staged_files(self) -> Dict[str, str]:
        """Files the executor writes into the run directory before the first step."""
        files: Dict[str, Any] = {"empty/.keep": "",
                                 "staged/%s" % os.path.basename(self.repo_file): self.repo_text()}
        for key in self.gpg_keys:
            with open(key, "rb") as handle:
                files["staged/keys/%s" % os.path.basename(key)] = handle.read()
        if self.installroot:
            files["home/.rpmmacros"] = "%%_dbpath %s\n" % DBPATH
            files["dnf.conf"] = ("[main]\ncachedir=/var/cache/dnf\nlogdir=/var/log\npersistdir=/var/lib/dnf\n"
                                 "gpgcheck=%d\n" % int(self.gpgcheck))
        return files

    def repo_text(self) -> str:
        out = ["# written by migrate (run %s): %s repositories" % (self.run_id, self.target.name)]
        if self.target_repos:
            for rid, url in zip(self.target_repo_ids, self.target_repos):
                out += ["", "[%s]" % rid, "name=%s (%s)" % (self.target.name, url), "baseurl=%s" % _url(url),
                        "enabled=1", "gpgcheck=%d" % int(self.gpgcheck)]
                if self.gpg_keys:
                    # dnf --installroot reads gpgkey= paths on the host, not under the root
                    out.append("gpgkey=%s" % " ".join("file://%s" % self.path(self.key_path(k))
                                                     for k in self.gpg_keys))
        else:
            for repo in self.target.repos:
                out += ["", "[%s]" % repo.id, "name=%s" % (repo.name or repo.id), "baseurl=%s" % repo.baseurl,
                        "enabled=%d" % int(bool(repo.enabled)),
                        "gpgcheck=%d" % int(self.gpgcheck if repo.gpgcheck is None else repo.gpgcheck)]
                if repo.gpgkey:
                    out.append("gpgkey=%s" % " ".join(repo.gpgkey))
        return "\n".join(out) + "\n"


def _url(url: str) -> str:
    return url if re.match(r"^[a-z]+://", url) else "file://" + os.path.abspath(url)


@dataclass
class Step:
    id: str
    title: str
    commands: List[Dict[str, Any]] = field(default_factory=list)
    rollback: List[Dict[str, Any]] = field(default_factory=list)
    point_of_no_return: bool = False
    note: str = ""
    # ctx, journal step entry -> commands, computed just before the step / its rollback runs
    dynamic: Optional[Callable[..., List[Dict[str, Any]]]] = None
    dynamic_rollback: Optional[Callable[..., List[Dict[str, Any]]]] = None
    internal: Optional[str] = None   # name of an executor check run instead of / before commands
    # True: the step's commands only read the host or write the run directory, and an
    # interrupted step simply starts over, so the journal is saved when the step ends rather
    # than after each command (each save is an fsync'd atomic write)
    restartable: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"id": self.id, "title": self.title, "point_of_no_return": self.point_of_no_return,
                "note": self.note, "commands": self.commands, "rollback": self.rollback,
                "dynamic": bool(self.dynamic), "dynamic_rollback": bool(self.dynamic_rollback),
                "internal": self.internal, "restartable": self.restartable}


def cmd(argv: List[str], **extra: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {"argv": [str(a) for a in argv]}
    out.update(extra)
    return out


def read_installed(ctx: Context, runner: Any) -> None:
    """What is installed now (read-only; the plan depends on it)."""
    res = runner.run(ctx.rpm() + ["-qa", "--qf", QF])
    if res.returncode != 0:
        from migrate.errors import BadInput
        raise BadInput("cannot read the rpmdb of %s: %s" % (ctx.root, res.tail.strip()[-300:]))
    ctx.installed, ctx.vendors = parse_qa(res.output)


def parse_qa(text: str):
    installed: Dict[str, List[str]] = {}
    vendors: Dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            installed.setdefault(parts[0], []).append(parts[1])
            vendors[parts[0]] = parts[2] if len(parts) > 2 else ""
    return installed, vendors


def nevra(name: str, evra: str) -> str:
    epoch, _, vra = evra.partition(":")
    if vra.endswith(".(none)"):   # gpg-pubkey has no arch
        vra = vra[:-len(".(none)")]
    return "%s-%s%s" % (name, "" if epoch in ("0", "") else epoch + ":", vra)


def dnf_history_id(runner: Any, root: str) -> Optional[int]:
    """The newest dnf transaction id (dnf history), read-only (a local database in place,
    a remote one from a copy)."""
    with runner.local_file(os.path.join(root, "var/lib/dnf/history.sqlite")) as path:
        if path is None:
            return None
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            row = con.execute("SELECT max(id) FROM trans").fetchone()
        except sqlite3.DatabaseError:
            return None
        finally:
            con.close()
    return row[0] if row else None


def build_plan(ctx: Context) -> List[Step]:
    """The ordered steps for a same-major repo swap (ctx.installed must be read first)."""
    swap = ctx.target.release_swap
    remove = [n for n in swap.get("remove", []) if n in ctx.installed]
    install = list(swap.get("install", []))
    source_release = next((n for n in remove if n.endswith("-release")), remove[0] if remove else None)
    backup = os.path.join(ctx.run_dir, "backup")
    steps: List[Step] = []

    steps.append(Step("preflight", "Preflight: assessment without unwaived blockers, lock, root, rpmdb, disk",
                      internal="preflight", restartable=True,
                      note="the assessment runs before the run starts; the lock is ROOT/var/lib/migrate/lock"))

    # rm first: a backup interrupted by a crash is redone from scratch (it changes nothing on the host)
    cmds = [cmd(["rm", "-rf", os.path.join(backup, "files")]), cmd(["mkdir", "-p", os.path.join(backup, "files")])]
    restore = []
    for rel in BACKUP_PATHS:
        src = ctx.path(rel)
        if not ctx.runner.exists(src):
            continue
        dst = os.path.join(backup, "files", rel)
        cmds.append(cmd(["mkdir", "-p", os.path.dirname(dst)]))
        cmds.append(cmd(["cp", "-a", src, dst]))
        restore.append(cmd(["rm", "-rf", src]))
        restore.append(cmd(["mkdir", "-p", os.path.dirname(src)]))
        restore.append(cmd(["cp", "-a", dst, src]))
    cmds.append(cmd(ctx.rpm() + ["-qa", "--qf", QF], capture="backup/rpm-qa.txt"))
    if not ctx.installroot:   # the boot entry to go back to (an installroot has no bootloader)
        cmds.append(cmd(["grubby", "--default-kernel"], capture="backup/grub-default-kernel.txt"))
    steps.append(Step("backup", "Back up repo files, release files, os-release, module streams, grub "
                      "default, GPG keys and the package list (rpm -qa with EVRs)", commands=cmds,
                      rollback=restore, internal="backup", restartable=True,
                      note="rollback restores every backed-up path byte for byte (runs last)"))

    repo_dir = ctx.path("etc/yum.repos.d")
    source_repo_files = [f for f in ctx.runner.listdir(repo_dir)
                         if f.endswith(".repo") and f.lower().startswith("centos")]
    steps.append(Step("disable-source-repos", "Disable the source repositories",
                      # done_if: a run interrupted inside this step already moved that file
                      commands=[cmd(["mv", os.path.join(repo_dir, f), os.path.join(repo_dir, f + ".migrate-disabled")],
                                    done_if=os.path.join(repo_dir, f + ".migrate-disabled"))
                                for f in source_repo_files],
                      rollback=[cmd(["mv", os.path.join(repo_dir, f + ".migrate-disabled"), os.path.join(repo_dir, f)],
                                    ok=[0, 1]) for f in reversed(source_repo_files)]))

    staged = os.path.join(ctx.run_dir, "staged", os.path.basename(ctx.repo_file))
    repo_cmds = [cmd(["install", "-D", "-m", "0644", staged, ctx.path(ctx.repo_file)])]
    repo_rb = [cmd(["rm", "-f", ctx.path(ctx.repo_file)])]
    for key in ctx.gpg_keys:
        dest = ctx.path(ctx.key_path(key))
        repo_cmds.append(cmd(["install", "-D", "-m", "0644",
                              os.path.join(ctx.run_dir, "staged/keys", os.path.basename(key)), dest]))
        repo_cmds.append(cmd(ctx.rpm() + ["--import", dest]))
        if not ctx.runner.exists(dest):
            repo_rb.append(cmd(["rm", "-f", dest]))
    steps.append(Step("install-target-repos", "Install the target repository definitions (%s)%s"
                      % (", ".join(ctx.target_repo_ids), " and GPG keys" if ctx.gpg_keys else ""),
                      commands=repo_cmds, rollback=repo_rb,
                      dynamic_rollback=_rollback_keys if ctx.gpg_keys else None,
                      note="GPG keys: %s" % (", ".join(os.path.basename(k) for k in ctx.gpg_keys) + " (--gpg-key)"
                                             if ctx.gpg_keys else "%s, shipped by the target release package "
                                             "(manifest gpg_keys)" % ", ".join(k.get("file", "?")
                                                                              for k in ctx.target.gpg_keys))))

    if source_release and install:
        steps.append(Step("swap-release", "Swap the release package %s -> %s" % (source_release, install[0]),
                          commands=[cmd(ctx.dnf() + ["--allowerasing", "swap", source_release, install[0]])]
                          + ([cmd(ctx.dnf() + ["--allowerasing", "install"] + install[1:])] if install[1:] else []),
                          rollback=[cmd(ctx.dnf("source") + ["--allowerasing", "swap", install[0], source_release])],
                          internal="swap-release"))

    steps.append(Step("distro-sync", "distro-sync every package to the target's builds",
                      commands=[cmd(ctx.dnf() + ["--allowerasing", "distro-sync"])],
                      point_of_no_return=True, dynamic_rollback=_rollback_packages,
                      note="a retry after an interrupted transaction first runs `dnf remove --duplicates` "
                           "(only when rpm -qa shows old and new builds side by side); rollback: distro-sync "
                           "back from the source repos, then remove packages the run added and reinstall "
                           "those it removed (computed from backup/rpm-qa.txt)"))

    kpkg = None
    try:
        kpkg = ctx.target.kernel_flavour().package
    except Exception:  # noqa: BLE001 - a manifest without a confirmed kernel package
        kpkg = None
    kpkg = kpkg or "kernel"
    steps.append(Step("kernel", "Install the target kernel (%s) and make it the default" % kpkg,
                      commands=[cmd(ctx.dnf() + ["install", kpkg])], dynamic=_kernel_default,
                      dynamic_rollback=_rollback_kernel,
                      note="then `grubby --set-default /boot/vmlinuz-<newest target kernel>` (computed at run "
                           "time; skipped on an installroot, which has no bootloader); the old kernel stays; "
                           "rollback sets the backed-up default entry again, then removes the added kernel"))

    steps.append(Step("remove-source-branding", "Remove the source-only release/branding packages still "
                      "installed (now: %s)" % (", ".join(remove) or "none"),
                      dynamic=_remove_branding, dynamic_rollback=_reinstall_branding,
                      note="argv: %s --setopt=clean_requirements_on_remove=False remove <those of %s still "
                           "installed at run time that `rpm -e --test` shows nothing else needs>; a package "
                           "another package still requires is kept and reported, never removed with its "
                           "dependents" % (" ".join(ctx.dnf()), ", ".join(swap.get("remove", [])))))

    verify = [cmd(ctx.rpm() + ["-q"] + install[:1]), cmd(ctx.rpm() + ["-V"] + install[:1]),
              cmd(ctx.rpm() + ["-qa", "--qf", QF], capture="after-rpm-qa.txt"),
              cmd(ctx.dnf("none") + ["repoquery", "--installed", "--qf", "%{name} %{from_repo}"],
                  capture="after-from-repo.txt")]
    steps.append(Step("verify", "Verify: os-release says %s, rpmdb reads and verifies, packages come from "
                      "the target repos, no package lost without a replacement"
                      % ctx.target.os_release.get("ID"), commands=verify, internal="verify", restartable=True))
    return steps


# --- argv computed at run time --------------------------------------------------------------
def _installed_now(ctx: Context, runner: Any) -> Dict[str, List[str]]:
    res = runner.run(ctx.rpm() + ["-qa", "--qf", QF], env=ctx.env())
    if res.returncode != 0:
        from migrate.errors import MigrateError
        raise MigrateError("cannot read the rpmdb (exit %d): %s" % (res.returncode, res.tail.strip()[-300:]))
    return parse_qa(res.output)[0]


def read_qa(ctx: Context, rel: str):
    """A captured `rpm -qa --qf QF` of the run directory: (name -> [E:V-R.A], name -> vendor)."""
    return parse_qa(ctx.runner.read_text(os.path.join(ctx.run_dir, rel)) or "")


def _backup_list(ctx: Context) -> Dict[str, List[str]]:
    return read_qa(ctx, "backup/rpm-qa.txt")[0]


# installonly packages legitimately have several versions installed
INSTALLONLY = ("kernel", "kernel-core", "kernel-modules", "kernel-modules-extra", "kernel-devel",
               "kernel-uek", "gpg-pubkey")


def duplicates(installed: Dict[str, List[str]]) -> List[str]:
    return sorted(n for n, vs in installed.items() if len(vs) > 1 and n not in INSTALLONLY
                  and not n.startswith("installonlypkg("))


def clean_duplicates(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A dnf transaction killed halfway leaves old and new builds installed side by side; a
    retried step removes the old halves first (dnf keeps the newest), then runs again."""
    dups = duplicates(_installed_now(ctx, runner))
    entry["duplicates_found"] = dups
    return [cmd(ctx.dnf() + ["remove", "--duplicates"])] if dups else []


def _kernel_default(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    if ctx.installroot:
        entry["notes"] = entry.get("notes", []) + ["grubby skipped: an installroot has no bootloader"]
        return []
    now = _installed_now(ctx, runner)
    before = _backup_list(ctx)
    new = [v for v in now.get("kernel", []) + now.get("kernel-core", []) if v not in
           before.get("kernel", []) + before.get("kernel-core", [])]
    if not new:
        return []
    vra = sorted(new)[-1].partition(":")[2]
    return [cmd(["grubby", "--set-default", "/boot/vmlinuz-%s" % vra])]


def _remove_branding(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Only what nothing else needs: `rpm -e --test` (changes nothing) decides, so a
    centos-logos-httpd that httpd requires stays, instead of dnf removing httpd with it."""
    now = _installed_now(ctx, runner)
    names = [n for n in ctx.target.release_swap.get("remove", []) if n in now]
    kept: Dict[str, str] = {}
    if names and runner.run(ctx.rpm() + ["-e", "--test"] + names, env=ctx.env()).returncode != 0:
        for name in list(names):
            res = runner.run(ctx.rpm() + ["-e", "--test", name], env=ctx.env())
            if res.returncode != 0:
                kept[name] = " ".join(res.output.split())[-300:]
                names.remove(name)
        if names and runner.run(ctx.rpm() + ["-e", "--test"] + names, env=ctx.env()).returncode != 0:
            kept.update({n: "needed together with the packages kept" for n in names})
            names = []
    entry["removed"] = names
    entry["kept"] = kept
    return [cmd(ctx.dnf() + ["--setopt=clean_requirements_on_remove=False", "remove"] + names)] if names else []


def _reinstall_branding(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    names = [n for n in entry.get("removed", [])]
    return [cmd(ctx.dnf("source") + ["--allowerasing", "install"] + names)] if names else []


def _rollback_kernel(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    now = _installed_now(ctx, runner)
    before = _backup_list(ctx)
    out = []
    saved = (ctx.runner.read_text(os.path.join(ctx.run_dir, "backup/grub-default-kernel.txt")) or "").strip()
    if saved and not ctx.installroot:
        out.append(cmd(["grubby", "--set-default", saved.splitlines()[-1]]))
    added = [nevra(n, v) for n in ("kernel", "kernel-core", "kernel-modules")
             for v in now.get(n, []) if v not in before.get(n, [])]
    if added:
        out.append(cmd(ctx.rpm() + ["-e", "--nodeps", "--noscripts"] + added))
    return out


def _rollback_packages(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    """distro-sync back, then make the package set equal to the backed-up one."""
    out = [cmd(ctx.dnf("source") + ["--allowerasing", "distro-sync"])]
    out.append({"then": "rollback_diff"})  # computed after the distro-sync back has run
    return out


def rollback_diff(ctx: Context, runner: Any) -> List[Dict[str, Any]]:
    now = _installed_now(ctx, runner)
    before = _backup_list(ctx)
    extra = [nevra(n, v) for n, vs in sorted(now.items()) if n != "gpg-pubkey"
             for v in vs if v not in before.get(n, [])]
    missing = [nevra(n, v) for n, vs in sorted(before.items()) if n != "gpg-pubkey"
               for v in vs if v not in now.get(n, [])]
    out = []
    if extra:
        out.append(cmd(ctx.rpm() + ["-e", "--nodeps", "--noscripts"] + extra))
    if missing:
        out.append(cmd(ctx.dnf("source") + ["--allowerasing", "--setopt=obsoletes=False", "install"] + missing))
    return out


def _rollback_keys(ctx: Context, runner: Any, entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Forget the GPG keys the run imported (gpg-pubkey entries not in the backed-up list)."""
    now = _installed_now(ctx, runner)
    before = _backup_list(ctx)
    added = [nevra("gpg-pubkey", v) for v in now.get("gpg-pubkey", []) if v not in before.get("gpg-pubkey", [])]
    return [cmd(ctx.rpm() + ["-e"] + added)] if added else []


DYNAMIC = {"install-target-repos": (None, _rollback_keys),
           "distro-sync": (None, _rollback_packages),
           "kernel": (_kernel_default, _rollback_kernel),
           "remove-source-branding": (_remove_branding, _reinstall_branding)}


def steps_from_journal(entries: List[Dict[str, Any]]) -> List[Step]:
    """The steps of a run as planned (the journal keeps them: a resumed or rolled-back run
    uses the argv it planned, not a plan recomputed from the changed host)."""
    out = []
    for e in entries:
        dyn, dyn_rb = DYNAMIC.get(e["id"], (None, None))
        out.append(Step(e["id"], e["title"], commands=e["commands"], rollback=e["rollback"],
                        point_of_no_return=e["point_of_no_return"], note=e.get("note", ""),
                        dynamic=dyn if e.get("dynamic") else None,
                        dynamic_rollback=dyn_rb if e.get("dynamic_rollback") else None,
                        internal=e.get("internal"), restartable=e.get("restartable", False)))
    return out
