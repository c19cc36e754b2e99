"""Real repositories, real dnf and a real HTTP server for the repodata/snapshot/fetch tests.

- `built_rpms()`: ~20 packages built with rpmbuild (tests/hostbuild, cached): a
  kernel-core in two versions owning .ko/.ko.xz/.ko.gz/.ko.zst files, sonames,
  epochs, x86_64/i686/aarch64/noarch, file and unversioned provides.
- `make_repo(dest, rpms, *createrepo_args)`: createrepo_c over those packages.
- `recompress()` / `replace_metadata()`: rewrite a metadata file and fix (or not)
  repomd.xml, for compressions createrepo_c 0.17 lacks (zstd, plain XML) and for
  corrupt-input tests that must get past the checksum.
- `dnf_repoquery(repo, work)`: what real dnf says the repository holds, run with a
  private HOME (.rpmmacros keeps the rpmdb inside the installroot), cachedir and
  installroot under `work`, no system repos, no plugins.
- `RepoServer`: ThreadingHTTPServer on 127.0.0.1 serving a directory, with
  scripted failures per path (HTTP status, stall, truncated body) and a request log.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from hostbuild import Pkg, build_repo

REPO_NS = "http://linux.duke.edu/metadata/repo"
RPM_NS = "http://linux.duke.edu/metadata/rpm"
K348 = "/lib/modules/4.18.0-348.el8.x86_64"
K372 = "/lib/modules/4.18.0-372.el8.x86_64"
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
# Directories that look like module files: filelists marks them type="dir" and
# they are not modules; `dnf repoquery -l` lists them like files.
DIRS_NAMED_LIKE_MODULES = {K348 + "/extra/fake.ko"}


def packages_a() -> List[Pkg]:
    kernel_src = "kernel-4.18.0-348.el8"
    return [
        Pkg("kernel-core", "4.18.0", "348.el8", source=kernel_src, files={
            K348 + "/kernel/fs/xfs/xfs.ko.xz": "xfs",
            K348 + "/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz": "e1000e",
            K348 + "/kernel/drivers/block/virtio_blk.ko.xz": "virtio_blk",
            K348 + "/vmlinuz": "vmlinuz", K348 + "/modules.order": "order",
            K348 + "/modules.builtin": "builtin"},
            dirs=(K348, K348 + "/kernel"),
            provides=("kernel = 4.18.0-348.el8", "kernel-uname-r = 4.18.0-348.el8.x86_64")),
        Pkg("kernel-modules", "4.18.0", "348.el8", source=kernel_src, files={
            K348 + "/kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_en.ko.xz": "mlx4_en",
            K348 + "/kernel/net/netfilter/nf_nat.ko.gz": "nf_nat",
            K348 + "/kernel/drivers/scsi/megaraid/megaraid_sas.ko.zst": "megaraid_sas",
            K348 + "/kernel/drivers/md/dm-crypt.ko": "dm-crypt",
            "/usr/share/doc/kernel-modules/notes.ko.txt": "not a module"},
            dirs=tuple(sorted(DIRS_NAMED_LIKE_MODULES)),
            provides=("kernel-modules-uname-r = 4.18.0-348.el8.x86_64",)),
        Pkg("kmod-foo", "1.0", "1.el8", files={K348 + "/extra/foo/foo-bar.ko": "foo-bar"},
            provides=("kmod(foo-bar.ko) = 1.0",)),
        Pkg("openssl-libs", "1.1.1k", "5.el8", epoch=1, source="openssl-1.1.1k-5.el8", files={
            "/usr/lib64/libssl.so.1.1.1k": "ssl", "/usr/lib64/libcrypto.so.1.1.1k": "crypto"},
            provides=("libssl.so.1.1()(64bit)", "libssl.so.1.1(OPENSSL_1_1_0)(64bit)",
                      "libcrypto.so.1.1()(64bit)")),
        Pkg("openssl-libs", "1.1.1k", "5.el8", arch="i686", epoch=1, source="openssl-1.1.1k-5.el8",
            files={"/usr/lib/libssl.so.1.1.1k": "ssl32"},
            provides=("libssl.so.1.1", "libcrypto.so.1.1")),
        Pkg("glibc", "2.28", "164.el8", files={"/usr/lib64/libc-2.28.so": "libc"},
            provides=("libc.so.6()(64bit)", "libc.so.6(GLIBC_2.2.5)(64bit)", "rtld(GNU_HASH)")),
        Pkg("bash", "4.4.20", "2.el8", files={"/usr/bin/bash": "bash"}, provides=("/bin/sh",)),
        Pkg("perl-libs", "5.26.3", "419.el8", epoch=4, files={"/usr/lib64/libperl.so": "perl"},
            provides=("perl(strict) = 1.11", "libperl.so.5.26()(64bit)", "perl(:MODULE_COMPAT_5.26.3)")),
        Pkg("tzdata", "2021a", "1.el8", arch="noarch", files={"/usr/share/zoneinfo/UTC": "utc"},
            summary="Time zone data & rules, \u201cworld-wide\u201d"),
        Pkg("python3-six", "1.11.0", "8.el8", arch="noarch", files={"/usr/lib/python3.6/site-packages/six.py": "six"},
            provides=("python3.6dist(six) = 1.11", "python3dist(six) = 1.11")),
        Pkg("ca-certificates", "2021.2.50", "80.0.el8_4", arch="noarch", files={"/etc/pki/tls/cert.pem": "pem"}),
        Pkg("libstdc++", "8.5.0", "4.el8", files={"/usr/lib64/libstdc++.so.6.0.25": "stdc++"},
            provides=("libstdc++.so.6()(64bit)", "libstdc++.so.6(GLIBCXX_3.4)(64bit)")),
        Pkg("zlib", "1.2.11", "17.el8", files={"/usr/lib64/libz.so.1.2.11": "z"}, provides=("libz.so.1()(64bit)",)),
        Pkg("shim-aa64", "15", "16.el8", arch="aarch64", files={"/boot/efi/EFI/centos/shimaa64.efi": "shim"}),
        Pkg("foo-tilde", "1.0~rc1", "1.el8", files={"/usr/bin/foo-tilde": "foo"}),
        Pkg("webserver-meta", "1.0", "1", arch="noarch", files={"/usr/share/webserver-meta/README": "r"},
            provides=("webserver", "httpd-api = 2.4")),
        Pkg("openssh-server", "8.0p1", "10.el8", epoch=0, files={"/usr/sbin/sshd": "sshd"}),
        Pkg("lvm2", "2.03.12", "10.el8", epoch=8, files={"/usr/sbin/lvm": "lvm"}),
        Pkg("device-mapper", "1.02.177", "10.el8", epoch=8, source="lvm2-2.03.12-10.el8",
            files={"/usr/sbin/dmsetup": "dmsetup"}),
    ]


def packages_b() -> List[Pkg]:
    """Second versions of two packages (a repo build cannot hold one name.arch twice)."""
    return [
        Pkg("kernel-core", "4.18.0", "372.el8", files={
            K372 + "/kernel/fs/xfs/xfs.ko.xz": "xfs2",
            K372 + "/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz": "e1000e2",
            K372 + "/vmlinuz": "vmlinuz2"},
            dirs=(K372,), provides=("kernel = 4.18.0-372.el8", "kernel-uname-r = 4.18.0-372.el8.x86_64")),
        Pkg("tzdata", "2022a", "1.el8", arch="noarch", files={"/usr/share/zoneinfo/UTC": "utc2"}),
    ]


def built_rpms() -> List[Path]:
    """The built .rpm files of packages_a() + packages_b() (built once, cached)."""
    rpms = []
    for repo in (build_repo(packages_a(), "repodata-a"), build_repo(packages_b(), "repodata-b")):
        rpms.extend(sorted((repo / "Packages").glob("*.rpm")))
    return rpms



def make_repo(dest: Path, rpms: List[Path], *createrepo_args: str) -> Path:
    """A createrepo_c repository of `rpms` in `dest`."""
    pkgdir = dest / "Packages"
    pkgdir.mkdir(parents=True)
    for rpm in rpms:
        try:
            os.link(rpm, pkgdir / rpm.name)
        except OSError:
            shutil.copyfile(rpm, pkgdir / rpm.name)
    subprocess.run(["createrepo_c", "--quiet", "--no-database", *createrepo_args, str(dest)], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    return dest


# -- rewriting metadata ------------------------------------------------------------------

def _repomd_tree(repo: Path) -> ET.ElementTree:
    ET.register_namespace("", REPO_NS)
    ET.register_namespace("rpm", RPM_NS)
    return ET.parse(repo / "repodata" / "repomd.xml")


def data_element(tree: ET.ElementTree, kind: str) -> ET.Element:
    for data in tree.getroot().iter("{%s}data" % REPO_NS):
        if data.get("type") == kind:
            return data
    raise KeyError(kind)


def metadata_path(repo: Path, kind: str) -> Path:
    data = data_element(_repomd_tree(repo), kind)
    return repo / data.find("{%s}location" % REPO_NS).get("href")


def decompressed(path: Path) -> bytes:
    import bz2
    import lzma
    import zstandard
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".bz2"):
        return bz2.decompress(data)
    if path.name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def replace_metadata(repo: Path, kind: str, content: bytes, suffix: str, open_content: Optional[bytes] = None,
                     update_repomd: bool = True) -> Path:
    """Put `content` in place of `kind`'s file, named `<sha256>-<kind>.xml<suffix>` like
    createrepo_c does, and (unless told not to) record its checksum and size in
    repomd.xml, as a repository generator would."""
    tree = _repomd_tree(repo)
    data = data_element(tree, kind)
    location = data.find("{%s}location" % REPO_NS)
    old = repo / location.get("href")
    digest = hashlib.sha256(content).hexdigest()
    href = "repodata/%s-%s.xml%s" % (digest, kind, suffix)
    old.unlink()
    (repo / href).write_bytes(content)
    if update_repomd:
        location.set("href", href)
        checksum = data.find("{%s}checksum" % REPO_NS)
        checksum.set("type", "sha256")
        checksum.text = digest
        data.find("{%s}size" % REPO_NS).text = str(len(content))
        if open_content is not None:
            data.find("{%s}open-checksum" % REPO_NS).text = hashlib.sha256(open_content).hexdigest()
            data.find("{%s}open-size" % REPO_NS).text = str(len(open_content))
        tree.write(repo / "repodata" / "repomd.xml", encoding="UTF-8", xml_declaration=True)
    return repo / href


def recompress(repo: Path, kind: str, compression: str) -> Path:
    """Re-encode `kind`'s metadata as 'zst' (zstandard) or 'xml' (uncompressed)."""
    xml = decompressed(metadata_path(repo, kind))
    if compression == "zst":
        import zstandard
        return replace_metadata(repo, kind, zstandard.ZstdCompressor(level=3).compress(xml), ".zst", xml)
    if compression == "xml":
        return replace_metadata(repo, kind, xml, "", xml)
    raise ValueError(compression)


def edit_repomd(repo: Path, edit: Callable[[str], str]) -> None:
    path = repo / "repodata" / "repomd.xml"
    path.write_text(edit(path.read_text()))


# -- dnf --------------------------------------------------------------------------------

def dnf_repoquery(repo: Path, work: Path) -> Dict[Tuple[str, int, str, str, str], Tuple[set, List[str]]]:
    """{(name, epoch, version, release, arch): (provides, files)} as real dnf reads `repo`."""
    if shutil.which("dnf") is None:
        raise RuntimeError("dnf is required to check the snapshot against it: apt-get install dnf")
    home, cache, root = work / "home", work / "cache", work / "root"
    for path in (home, cache, root):
        path.mkdir(parents=True, exist_ok=True)
    # Debian's rpm keeps its database in ~/.rpmdb otherwise: keep it inside the installroot.
    (home / ".rpmmacros").write_text("%_dbpath /var/lib/rpm\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C.UTF-8"}
    argv = ["dnf", "-q", "--repofrompath=t,file://%s" % repo, "--repo=t", "--setopt=reposdir=/nonexistent",
            "--setopt=cachedir=%s" % cache, "--installroot=%s" % root, "--releasever=8", "--noplugins",
            "repoquery", "--qf", "@@%{name} %{epoch} %{version} %{release} %{arch}\n%{provides}\n##\n%{files}", "*"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError("dnf repoquery failed (%d): %s" % (proc.returncode, proc.stderr[-2000:]))
    result = {}
    for block in proc.stdout.split("@@")[1:]:
        head, _, rest = block.partition("\n")
        provides, _, files = rest.partition("##\n")
        name, epoch, version, release, arch = head.split(" ")
        result[(name, int(epoch), version, release, arch)] = (
            {line for line in provides.splitlines() if line}, [line for line in files.splitlines() if line])
    return result


# -- HTTP ---------------------------------------------------------------------------------

class RepoServer:
    """A real HTTP server on 127.0.0.1 serving `root`, with scripted misbehaviour.

    `plan[suffix]` is a list of actions used up one per request whose path ends with
    `suffix`: an int (that HTTP status, e.g. 500, 404, 429 with Retry-After: 0),
    "stall" (never answer until the server stops), "truncate" (announce the full
    length, send half, close), "half-then-stall" (send half, set `half_sent`, wait).
    Requests with no action left are served normally. `requests` lists paths."""

    def __init__(self, root: Path):
        self.root = root
        self.plan: Dict[str, List[object]] = {}
        self.requests: List[str] = []
        self.release = threading.Event()
        self.half_sent = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(server.root), **kwargs)

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                action = server._next_action(self.path)
                if action is None:
                    return super().do_GET()
                if isinstance(action, int):
                    body = b"scripted failure\n"
                    self.send_response(action)
                    if action in (429, 503):
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                if action == "stall":
                    server.release.wait(120)
                    self.close_connection = True
                    return None
                data = (server.root / self.path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                if action == "half-then-stall":
                    server.half_sent.set()
                    server.release.wait(120)
                self.close_connection = True
                return None

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        # A short poll interval: shutdown() waits up to one interval.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def _next_action(self, path: str) -> Optional[object]:
        with self._lock:
            self.requests.append(path)
            for suffix, actions in self.plan.items():
                if path.endswith(suffix) and actions:
                    return actions.pop(0)
        return None

    def url(self, name: str) -> str:
        return "http://127.0.0.1:%d/%s/" % (self.port, name)

    def count(self, suffix: str) -> int:
        return sum(1 for path in self.requests if path.endswith(suffix))

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
