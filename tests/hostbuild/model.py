"""Declarative models of test packages and test hosts.

`Pkg` describes one binary RPM (what `rpm -qi` would show plus a tiny payload);
`HostSpec` describes a whole host root: its packages, the plain files that no
package owns (captured /proc and /sys files, machine-id, repo files a user
dropped in, DKMS trees) and the rpmdb backend (`sqlite` as written by the
builder's rpm, or `bdb` like a real EL7/EL8 host).

Both serialise to canonical JSON (`canonical()`), which is what the cache key
of a built host is computed from.
"""

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple, Union

ARCHES = ("x86_64", "noarch", "i686", "aarch64", "ppc64le", "s390x")


@dataclass(frozen=True)
class Symlink:
    """A symlink entry (in `Pkg.files` or `HostSpec.files`) pointing at `target`."""

    target: str


Content = Union[str, bytes, Symlink]


def _content_json(value: Content):
    if isinstance(value, Symlink):
        return {"symlink": value.target}
    if isinstance(value, str):
        value = value.encode("utf-8")
    if len(value) <= 512:
        return {"b64": base64.b64encode(value).decode("ascii")}
    return {"sha256": hashlib.sha256(value).hexdigest(), "len": len(value)}


def content_bytes(value: Union[str, bytes]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


@dataclass
class Pkg:
    """One binary package.

    `files` maps absolute paths to content (str/bytes) or a `Symlink`;
    `dirs` lists directories the package owns; `ghosts` lists %ghost files (owned,
    in the rpmdb, but not installed: e.g. EL8 kernel-core's /boot/vmlinuz-*, which
    the host then gets as a plain file); `modes` overrides file modes
    ("0755"); files under /etc are marked %config(noreplace) unless listed in
    `noconfig`. `source` is the source package N-V-R (e.g. "lvm2-2.02.187-6.el7");
    by default it is the package's own N-V-R, so SOURCERPM is automatic.
    Packages sharing a `source` are built from one spec as subpackages.
    `sign_key` is a key label (see keys.py) or None for an unsigned package.
    `buildtime` (epoch seconds) defaults to the host's buildtime.
    """

    name: str
    version: str
    release: str
    arch: str = "x86_64"
    epoch: Optional[int] = None
    vendor: str = ""
    packager: str = ""
    summary: str = ""
    license: str = "GPLv2+"
    group: str = "Unspecified"
    url: str = ""
    files: Mapping[str, Content] = field(default_factory=dict)
    dirs: Tuple[str, ...] = ()
    ghosts: Tuple[str, ...] = ()
    modes: Mapping[str, str] = field(default_factory=dict)
    noconfig: Tuple[str, ...] = ()
    provides: Tuple[str, ...] = ()
    requires: Tuple[str, ...] = ()
    sign_key: Optional[str] = None
    buildtime: Optional[int] = None
    buildhost: Optional[str] = None
    source: Optional[str] = None

    def __post_init__(self):
        for attr in ("name", "version", "release"):
            val = getattr(self, attr)
            if not val or any(c.isspace() for c in val):
                raise ValueError("bad %s %r" % (attr, val))
        if "-" in self.version or "-" in self.release:
            raise ValueError("'-' not allowed in version/release: %s" % self.nvra)
        for path in list(self.files) + list(self.dirs) + list(self.ghosts):
            if not path.startswith("/") or "//" in path or any(c in path for c in " \t\n\"%"):
                raise ValueError("unsupported path %r in %s" % (path, self.name))

    @property
    def evr(self) -> str:
        ep = "%d:" % self.epoch if self.epoch is not None else ""
        return "%s%s-%s" % (ep, self.version, self.release)

    @property
    def nvra(self) -> str:
        """N-V-R.A as `rpm -qa` prints it by default (no epoch)."""
        return "%s-%s-%s.%s" % (self.name, self.version, self.release, self.arch)

    @property
    def nevra(self) -> str:
        """N-E:V-R.A as rpm's %{NEVRA} prints it (epoch only when set)."""
        return "%s-%s.%s" % (self.name, self.evr, self.arch)

    @property
    def source_nvr(self) -> str:
        return self.source or "%s-%s-%s" % (self.name, self.version, self.release)

    @property
    def sourcerpm(self) -> str:
        return self.source_nvr + ".src.rpm"

    @property
    def filename(self) -> str:
        return self.nvra + ".rpm"

    def canonical(self) -> dict:
        return {
            "name": self.name, "epoch": self.epoch, "version": self.version,
            "release": self.release, "arch": self.arch, "vendor": self.vendor,
            "packager": self.packager, "summary": self.summary, "license": self.license,
            "group": self.group, "url": self.url,
            "files": {p: _content_json(c) for p, c in sorted(self.files.items())},
            "dirs": sorted(self.dirs), "ghosts": sorted(self.ghosts), "modes": dict(sorted(self.modes.items())),
            "noconfig": sorted(self.noconfig), "provides": list(self.provides),
            "requires": list(self.requires), "sign_key": self.sign_key,
            "buildtime": self.buildtime, "buildhost": self.buildhost,
            "source": self.source_nvr,
        }


def split_nvr(nvr: str) -> Tuple[str, str, str]:
    """'lvm2-2.02.187-6.el7' -> ('lvm2', '2.02.187', '6.el7')."""
    name, version, release = nvr.rsplit("-", 2)
    return name, version, release


def parse_nevra(text: str) -> Tuple[str, Optional[int], str, str, str]:
    """Parse 'name-[E:]V-R.arch' (also accepts dnf's 'name-E:V-R.arch').

    Returns (name, epoch, version, release, arch).
    """
    text = text.strip()
    if text.endswith(".rpm"):
        text = text[:-4]
    rest, arch = text.rsplit(".", 1)
    name, version, release = rest.rsplit("-", 2)
    epoch = None
    if ":" in version:
        ep, version = version.split(":", 1)
        epoch = int(ep)
    return name, epoch, version, release, arch


COMMANDLINE = "@commandline"
_REPO_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")


@dataclass(frozen=True)
class Transaction:
    """One `dnf install` the builder runs into the host root (see HostSpec.transactions).

    `repo` is the repo id the packages come from - the id the host's .repo files
    use (dnf history records it), or "@commandline" for local .rpm files given
    on dnf's command line. `packages` name packages of the spec as "name" or
    "name.arch".
    """

    repo: str
    packages: Tuple[str, ...]

    def __post_init__(self):
        if self.repo != COMMANDLINE and not _REPO_ID.match(self.repo):
            raise ValueError("bad repo id %r" % self.repo)
        if not self.packages:
            raise ValueError("transaction from %s installs nothing" % self.repo)

    def canonical(self) -> dict:
        return {"repo": self.repo, "packages": list(self.packages)}


@dataclass
class HostSpec:
    """A host root to build.

    `files` are plain files written under the root after the packages are
    installed (relative or absolute paths, both mean "under the root").
    `rpmdb` is "sqlite" or "bdb". `import_keys` are key labels whose public
    keys are imported into the rpmdb (they show up as gpg-pubkey packages, as
    on a real host). `buildtime` is the default BUILDTIME of all packages.

    Without `transactions` every package goes in with one `rpm -i`. With them,
    real dnf installs the packages transaction by transaction (dnfinstall.py)
    from createrepo_c repositories whose ids are the transactions' repo ids, so
    /var/lib/dnf/history.sqlite records where each package came from, as on a
    real host; every package must then be in exactly one transaction, and
    `releasever` is what dnf is given.
    """

    name: str
    packages: List[Pkg]
    files: Dict[str, Content] = field(default_factory=dict)
    rpmdb: str = "sqlite"
    import_keys: Tuple[str, ...] = ()
    buildtime: int = 1600000000
    buildhost: str = "localhost"
    description: str = ""
    transactions: Tuple[Transaction, ...] = ()
    releasever: str = ""

    def __post_init__(self):
        if self.rpmdb not in ("sqlite", "bdb"):
            raise ValueError("rpmdb must be 'sqlite' or 'bdb'")
        seen = {}
        for pkg in self.packages:
            key = (pkg.name, pkg.arch)
            if key in seen:
                raise ValueError("duplicate package %s.%s in %s" % (pkg.name, pkg.arch, self.name))
            seen[key] = pkg
        if self.transactions:
            if not self.releasever:
                raise ValueError("%s: transactions need a releasever" % self.name)
            placed: Dict[Tuple[str, str], str] = {}
            for txn in self.transactions:
                for ref in txn.packages:
                    pkg = self.transaction_package(ref)
                    key = (pkg.name, pkg.arch)
                    if key in placed:
                        raise ValueError("%s: %s is in two transactions" % (self.name, ref))
                    placed[key] = txn.repo
            missing = sorted("%s.%s" % key for key in seen if key not in placed)
            if missing:
                raise ValueError("%s: packages in no transaction: %s" % (self.name, ", ".join(missing)))

    def transaction_package(self, ref: str) -> Pkg:
        """The package a transaction entry ("name" or "name.arch") means; never ambiguous."""
        matches = [p for p in self.packages if p.name == ref or "%s.%s" % (p.name, p.arch) == ref]
        if len(matches) != 1:
            raise ValueError("%s: transaction entry %r matches %d packages"
                             % (self.name, ref, len(matches)))
        return matches[0]

    def package(self, name: str, arch: Optional[str] = None) -> Pkg:
        for pkg in self.packages:
            if pkg.name == name and (arch is None or pkg.arch == arch):
                return pkg
        raise KeyError(name)

    @property
    def key_labels(self) -> Tuple[str, ...]:
        labels = {p.sign_key for p in self.packages if p.sign_key}
        labels.update(self.import_keys)
        return tuple(sorted(labels))

    def canonical(self) -> dict:
        out = {
            "name": self.name, "rpmdb": self.rpmdb, "import_keys": sorted(self.import_keys),
            "buildtime": self.buildtime, "buildhost": self.buildhost,
            "packages": [p.canonical() for p in sorted(self.packages, key=lambda p: (p.name, p.arch))],
            "files": {p: _content_json(c) for p, c in sorted(self.files.items())},
        }
        if self.transactions:   # only then: specs without them keep their old canonical form
            out["transactions"] = [t.canonical() for t in self.transactions]
            out["releasever"] = self.releasever
        return out

    def digest(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
