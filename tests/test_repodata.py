"""Repository metadata reader and snapshots, on real createrepo_c repositories of
rpmbuild-built packages, checked against what real dnf reads from the same repository."""
from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from migrate.errors import BadInput
from migrate.repodata import read_repo
from migrate.snapshot import (Snapshot, build_snapshot, load_snapshot, load_target_packages, load_target_sources,
                              module_name, source_kind)
from repotools import (DIRS_NAMED_LIKE_MODULES, MODULE_SUFFIXES, REPO_NS, built_rpms, data_element,
                       decompressed, dnf_repoquery, edit_repomd, make_repo, metadata_path, recompress,
                       replace_metadata)

pytestmark = pytest.mark.integration

VARIANTS = {
    "gz": (),                                               # createrepo_c's default
    "xz": ("--general-compress-type=xz",),
    "bz2": ("--general-compress-type=bz2",),
    "simple": ("--simple-md-filenames",),
    "zst": (),   # createrepo_c 0.17 cannot write zstd: recompressed with zstandard
    "plain": (),  # uncompressed primary.xml/filelists.xml
}
EXTENSIONS = {"gz": ".xml.gz", "xz": ".xml.xz", "bz2": ".xml.bz2", "simple": ".xml.gz", "zst": ".xml.zst",
              "plain": ".xml"}


@pytest.fixture(scope="session")
def repos(tmp_path_factory):
    """Variant name -> repository directory (made on first use)."""
    rpms = built_rpms()
    base = tmp_path_factory.mktemp("repos")
    made = {}

    def get(variant: str) -> Path:
        if variant not in made:
            repo = make_repo(base / variant, rpms, *VARIANTS[variant])
            if variant in ("zst", "plain"):
                for kind in ("primary", "filelists"):
                    recompress(repo, kind, "zst" if variant == "zst" else "xml")
            made[variant] = repo
        return made[variant]
    return get


@pytest.fixture(scope="session")
def dnf_view(repos, tmp_path_factory):
    return dnf_repoquery(repos("gz"), tmp_path_factory.mktemp("dnf"))


@pytest.fixture
def broken(repos, tmp_path):
    """A private copy of the gz repository to break."""
    def copy() -> Path:
        return Path(shutil.copytree(repos("gz"), tmp_path / "broken"))
    return copy


def nevra_key(pkg):
    return (pkg.name, pkg.epoch, pkg.version, pkg.release, pkg.arch)


# -- what the reader extracts, against dnf ------------------------------------------------

def test_snapshot_matches_dnf_repoquery(repos, dnf_view, tmp_path):
    out = tmp_path / "target.json"
    summary = build_snapshot([str(repos("gz"))], str(out))
    snap = load_target_packages(str(out))
    assert summary.packages == len(snap) == len(dnf_view) == 21

    assert {nevra_key(p) for p in snap} == set(dnf_view)
    for pkg in snap:
        provides, files = dnf_view[nevra_key(pkg)]
        assert set(pkg.provides) == provides, pkg.nevra
        modules = sorted(f for f in files if f.endswith(MODULE_SUFFIXES) and f not in DIRS_NAMED_LIKE_MODULES)
        assert list(pkg.module_paths) == modules, pkg.nevra
    assert summary.module_paths == sum(len(p.module_paths) for p in snap) == 10


def test_extracted_details(repos):
    data = read_repo(str(repos("gz")))
    rows = {(r[0], r[4], r[3]): r for r in data.packages}
    modules = rows[("kernel-modules", "x86_64", "348.el8")][6]
    # .ko, .ko.xz, .ko.gz and .ko.zst count; notes.ko.txt and a directory named fake.ko do not.
    assert sorted(Path(m).name for m in modules) == ["dm-crypt.ko", "megaraid_sas.ko.zst", "mlx4_en.ko.xz",
                                                      "nf_nat.ko.gz"]
    ssl = rows[("openssl-libs", "x86_64", "5.el8")]
    assert ssl[1] == 1 and "libssl.so.1.1()(64bit)" in ssl[5] and "openssl-libs = 1:1.1.1k-5.el8" in ssl[5]
    assert "libssl.so.1.1" in rows[("openssl-libs", "i686", "5.el8")][5]
    assert "webserver" in rows[("webserver-meta", "noarch", "1")][5]
    assert "httpd-api = 2.4" in rows[("webserver-meta", "noarch", "1")][5]
    assert rows[("foo-tilde", "x86_64", "1.el8")][2] == "1.0~rc1"

    repomd = repos("gz") / "repodata" / "repomd.xml"
    assert data.repomd_sha256 == hashlib.sha256(repomd.read_bytes()).hexdigest()
    assert data.revision == ET.parse(repomd).getroot().findtext("{%s}revision" % REPO_NS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_compressions_and_layouts(repos, variant):
    repo = repos(variant)
    for kind in ("primary", "filelists"):
        name = metadata_path(repo, kind).name
        assert name.endswith(kind + EXTENSIONS[variant])
        if variant == "simple":
            assert name == kind + ".xml.gz"
    assert sorted(read_repo(str(repo)).packages) == sorted(read_repo(str(repos("gz"))).packages)


# -- bad input: one line naming the repository and the file ---------------------------------

def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _zstd(data: bytes) -> bytes:
    import zstandard
    return zstandard.ZstdCompressor().compress(data)


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _drop_data(kind):
    def edit(repo):
        tree = ET.parse(repo / "repodata" / "repomd.xml")
        root = tree.getroot()
        root.remove(data_element(tree, kind))
        ET.register_namespace("", REPO_NS)
        tree.write(repo / "repodata" / "repomd.xml", encoding="UTF-8", xml_declaration=True)
    return edit


def _unknown_pkgid(repo):
    path = metadata_path(repo, "filelists")
    xml = decompressed(path)
    pkgid = xml.split(b'name="kmod-foo"')[0].rsplit(b'pkgid="', 1)[1][:64]
    replace_metadata(repo, "filelists", _gzip(xml.replace(pkgid, b"0" * 64)), ".gz")


BREAKERS = {
    "missing repomd.xml": (lambda r: (r / "repodata" / "repomd.xml").unlink(),
                           ["not a repository", "repodata/repomd.xml not found"]),
    "malformed repomd.xml": (lambda r: (r / "repodata" / "repomd.xml").write_text("<repomd><data type='primary'>"),
                             ["repodata/repomd.xml is malformed XML"]),
    "repomd.xml is an HTML page": (lambda r: (r / "repodata" / "repomd.xml").write_text(
        "<html><body>mirror maintenance</body></html>"), ["not repository metadata", "<html>"]),
    "primary missing": (lambda r: metadata_path(r, "primary").unlink(),
                        ["primary metadata repodata/", "-primary.xml.gz is missing"]),
    "no filelists in repomd.xml": (_drop_data("filelists"), ["repomd.xml lists no filelists metadata"]),
    "checksum mismatch": (lambda r: _flip_byte(metadata_path(r, "primary"), 40),
                          ["-primary.xml.gz: checksum mismatch: expected sha256 ", ", got "]),
    "truncated .gz, stale repomd.xml": (
        lambda r: metadata_path(r, "filelists").write_bytes(metadata_path(r, "filelists").read_bytes()[:200]),
        ["-filelists.xml.gz: checksum mismatch", "(200 bytes, repomd.xml says"]),
    "truncated .gz": (lambda r: replace_metadata(r, "filelists", metadata_path(r, "filelists").read_bytes()[:200],
                                                 ".gz"), ["-filelists.xml.gz: truncated gz data"]),
    "truncated .zst": (lambda r: replace_metadata(r, "filelists", _half(_zstd(decompressed(
        metadata_path(r, "filelists")))), ".zst"), ["-filelists.xml.zst: truncated zst data (zstd stream ended inside"]),
    "truncated .xz": (lambda r: replace_metadata(r, "filelists", _half(lzma.compress(decompressed(
        metadata_path(r, "filelists")))), ".xz"), ["-filelists.xml.xz: truncated xz data"]),
    "corrupt .gz": (lambda r: replace_metadata(r, "primary", _gzip(b"<x/>")[:-8] + b"\0\0\0\0\0\0\0\0", ".gz"),
                    ["-primary.xml.gz: corrupt gz data", "CRC check failed"]),
    "not gzip at all": (lambda r: replace_metadata(r, "primary", b"<html>502 Bad Gateway</html>\n" * 3, ".gz"),
                        ["-primary.xml.gz: corrupt gz data (Not a gzipped file"]),
    "garbage XML in primary": (
        lambda r: replace_metadata(r, "primary", _gzip(
            b'<metadata xmlns="http://linux.duke.edu/metadata/common"><package><name>x</name></nope>'), ".gz"),
        ["-primary.xml.gz: malformed XML at line 1 column", "mismatched tag"]),
    "binary garbage in primary": (lambda r: replace_metadata(r, "primary", _gzip(b"\x00\x01\x02garbage"), ".gz"),
                                  ["-primary.xml.gz: malformed XML at line 1"]),
    "filelists names a package not in primary": (_unknown_pkgid, ["-filelists.xml.gz: package kmod-foo (pkgid 000",
                                                                  "is not in primary metadata"]),
    "unsafe location href": (lambda r: edit_repomd(r, lambda t: t.replace(
        'href="repodata/', 'href="../../../etc/', 1)), ["unsafe location href '../../../etc/"]),
    "unknown checksum type": (lambda r: edit_repomd(r, lambda t: t.replace('type="sha256"', 'type="crc32"', 1)),
                              ["unsupported checksum type 'crc32' for primary"]),
}


@pytest.mark.parametrize("case", sorted(BREAKERS))
def test_bad_repository_is_one_line_bad_input(broken, tmp_path, case):
    breaker, fragments = BREAKERS[case]
    repo = broken()
    breaker(repo)
    with pytest.raises(BadInput) as exc:
        read_repo(str(repo))
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(repo) + ": ")
    for fragment in fragments:
        assert fragment in message
    # build_snapshot reports the same and writes nothing.
    out = tmp_path / "out.json"
    with pytest.raises(BadInput) as exc2:
        build_snapshot([str(repo)], str(out))
    assert str(exc2.value) == message
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["broken"]


# -- snapshots --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def snapshot(repos, tmp_path_factory) -> Snapshot:
    out = tmp_path_factory.mktemp("snap") / "target.json.gz"
    build_snapshot([str(repos("gz"))], str(out))
    return load_target_packages(str(out))


def test_snapshot_file_format(repos, tmp_path):
    repo = repos("gz")
    out = tmp_path / "t.json.gz"
    build_snapshot([str(repo)], str(out))
    raw = out.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    text = gzip.decompress(raw).decode()
    doc = json.loads(text)
    assert doc["schema_version"] == 1 and doc["kind"] == "migrate.repo-snapshot"
    assert doc["generated_at"].endswith("Z")
    assert doc["fields"] == ["name", "epoch", "version", "release", "arch", "provides", "module_paths", "repo"]
    (info,) = doc["repos"]
    assert info["url"] == "file://%s" % repo
    assert info["repomd_sha256"] == hashlib.sha256((repo / "repodata/repomd.xml").read_bytes()).hexdigest()
    assert info["packages"] == len(doc["packages"]) == 21 and info["offline"] is False
    # One package per line, sorted: snapshots diff well.
    rows = [line for line in text.splitlines() if line.startswith("[")]
    assert len(rows) == 21 and [json.loads(r.rstrip(","))[0] for r in rows] == sorted(r[0] for r in doc["packages"])
    plain = tmp_path / "t.json"
    build_snapshot([str(repo)], str(plain))
    assert json.loads(plain.read_text())["packages"] == doc["packages"]


def test_snapshot_lookups(snapshot):
    kernels = snapshot.by_name("kernel-core")
    assert [p.release for p in kernels] == ["348.el8", "372.el8"]  # oldest first, rpm order
    assert snapshot.newest("kernel-core").release == "372.el8"
    assert snapshot.newest_evr("tzdata") == (0, "2022a", "1.el8")
    assert snapshot.evrs("tzdata") == ((0, "2021a", "1.el8"), (0, "2022a", "1.el8"))
    assert snapshot.newest("device-mapper").evr == (8, "1.02.177", "10.el8")
    assert snapshot.newest("openssl-libs", arch="i686").arch == "i686"
    assert snapshot.newest("no-such-package") is None and snapshot.by_name("no-such-package") == ()
    assert "bash" in snapshot and "no-such-package" not in snapshot

    assert [p.arch for p in snapshot.providers("libssl.so.1.1()(64bit)")] == ["x86_64"]
    assert [p.arch for p in snapshot.providers("libssl.so.1.1")] == ["i686"]
    assert [p.name for p in snapshot.providers("/bin/sh")] == ["bash"]
    assert [p.name for p in snapshot.providers("perl(strict)")] == ["perl-libs"]
    assert {p.release for p in snapshot.providers("kernel")} == {"348.el8", "372.el8"}
    assert [p.name for p in snapshot.providers("webserver")] == ["webserver-meta"]

    assert {p.release for p in snapshot.module_providers("xfs")} == {"348.el8", "372.el8"}
    assert [p.name for p in snapshot.module_providers("nf_nat")] == ["kernel-modules"]
    assert [p.name for p in snapshot.module_providers("nf-nat.ko.gz")] == ["kernel-modules"]
    assert [p.name for p in snapshot.module_providers("foo_bar")] == ["kmod-foo"]
    assert [p.name for p in snapshot.module_providers("dm_crypt")] == ["kernel-modules"]
    assert snapshot.module_providers("notes") == () and snapshot.module_providers("fake") == ()
    assert set(snapshot.modules()) == {"xfs", "e1000e", "virtio_blk", "mlx4_en", "nf_nat", "megaraid_sas",
                                       "dm_crypt", "foo_bar"}
    assert module_name("/lib/modules/x/kernel/drivers/net/e1000e.ko.xz") == "e1000e"


def test_snapshot_is_read_only(snapshot):
    with pytest.raises(AttributeError):
        snapshot.packages = ()
    with pytest.raises(AttributeError):
        snapshot.anything = 1
    with pytest.raises(TypeError):
        snapshot.modules()["xfs"] = ()
    pkg = snapshot.packages[0]
    with pytest.raises(AttributeError):
        pkg.name = "x"
    assert isinstance(snapshot.packages, tuple) and isinstance(pkg.provides, tuple)


def test_snapshot_from_repo_equals_snapshot_from_file(repos, snapshot):
    direct = load_target_packages(str(repos("gz")))
    assert direct.packages == snapshot.packages
    assert direct.repos[0].repomd_sha256 == snapshot.repos[0].repomd_sha256
    assert not direct.offline and direct.warnings == ()


def test_source_detection(repos, tmp_path):
    repo = repos("gz")
    assert source_kind(str(repo)) == ("repo", str(repo))
    assert source_kind("file://%s" % repo) == ("repo", str(repo))
    assert source_kind(str(repo / "repodata" / "repomd.xml")) == ("repo", str(repo))
    assert source_kind("https://mirror.example/os/") == ("url", "https://mirror.example/os/")
    assert len(load_target_packages("file://%s" % repo)) == 21
    out = tmp_path / "s.json"
    build_snapshot(["file://%s/" % repo], str(out))
    assert source_kind(str(out)) == ("snapshot", str(out))
    for bad, fragment in ((str(tmp_path / "nope"), "no such repository directory or snapshot file"),
                          (str(tmp_path), "not a repository: repodata/repomd.xml not found"),
                          ("ftp://mirror.example/os/", "unsupported URL scheme 'ftp'")):
        with pytest.raises(BadInput) as exc:
            load_target_packages(bad)
        assert str(exc.value).startswith(bad + ": ") and fragment in str(exc.value)


def test_several_sources_merge(repos, tmp_path):
    rpms = built_rpms()
    first = make_repo(tmp_path / "base", [p for p in rpms if "kernel" in p.name])
    second = make_repo(tmp_path / "app", [p for p in rpms if "kernel" not in p.name])
    out = tmp_path / "merged.json"
    summary = build_snapshot([str(first), str(second), str(first)], str(out))  # the duplicate is read once
    assert [r.packages for r in summary.repos] == [3, 18]
    snap = load_snapshot(str(out))
    assert {p.repo for p in snap.by_name("kernel-core")} == {0} and snap.by_name("bash")[0].repo == 1
    assert sorted(snap.packages) != [] and len(snap) == 21
    loaded = load_target_sources([str(first), str(second)])
    assert loaded.packages == snap.packages and loaded.source == "%s, %s" % (first, second)
    # A snapshot is a source too: snapshots of repositories combine.
    again = tmp_path / "again.json"
    build_snapshot([str(out)], str(again))
    assert load_snapshot(str(again)).packages == snap.packages


def test_bad_snapshot_files(tmp_path, repos):
    good = tmp_path / "good.json"
    build_snapshot([str(repos("gz"))], str(good))
    doc = json.loads(good.read_text())
    cases = {
        "garbage.json": (b"\x00\x01not json", "not a snapshot"),
        "truncated.json.gz": (gzip.compress(good.read_bytes())[:100], "corrupt gzip snapshot"),
        "other.json": (b'{"schema_version": 1}', "not a migrate repository snapshot"),
        "future.json": (json.dumps(dict(doc, schema_version=99)).encode(), "schema_version 99 is not supported"),
        "badrow.json": (json.dumps(dict(doc, packages=doc["packages"][:3] + [["x", "0"]])).encode(),
                        "package row 4 is not [name, epoch"),
        "badrepo.json": (json.dumps(dict(doc, packages=[doc["packages"][0][:7] + [5]])).encode(), "package row 1"),
    }
    for name, (content, fragment) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(BadInput) as exc:
            load_target_packages(str(path))
        assert "\n" not in str(exc.value) and str(exc.value).startswith(str(path) + ": ")
        assert fragment in str(exc.value), name


def test_output_errors(repos, tmp_path):
    with pytest.raises(BadInput, match="directory .* does not exist"):
        build_snapshot([str(repos("gz"))], str(tmp_path / "missing" / "s.json"))
    with pytest.raises(BadInput, match="no repository given"):
        build_snapshot([], str(tmp_path / "s.json"))
    assert list(tmp_path.iterdir()) == []
