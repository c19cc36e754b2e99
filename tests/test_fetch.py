"""Fetching repository metadata over real HTTP (ThreadingHTTPServer on 127.0.0.1) into
the cache: retries, timeouts, 404s, offline use, and no partial cache entry ever."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from migrate import fetch
from migrate.errors import BadInput
from migrate.repodata import read_repo
from migrate.snapshot import build_snapshot, load_snapshot, load_target_packages, parsed_cache_name
from repotools import RepoServer, built_rpms, make_repo, metadata_path

pytestmark = pytest.mark.integration

FAST = {"timeout": 5.0, "retries": 3, "backoff": 0.01}
SHA = re.compile(r"[0-9a-f]{64}")
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    # A proxy from the environment would route 127.0.0.1 elsewhere.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("src") / "repo", built_rpms())


@pytest.fixture
def server(tmp_path, source_repo):
    root = tmp_path / "www"
    shutil.copytree(source_repo, root / "repo")
    srv = RepoServer(root)
    yield srv
    srv.stop()


@pytest.fixture
def cache(tmp_path):
    path = tmp_path / "cache"
    path.mkdir()
    return path


def cache_contents(cache: Path):
    """Every path under the cache, relative, for asserting there is nothing partial."""
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))


def complete_entries(cache: Path):
    return [p for p in cache.glob("*/*") if p.is_dir() and SHA.fullmatch(p.name)]


def assert_one_line(exc: BadInput, *fragments: str) -> str:
    message = str(exc)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_fetch_then_cache_hit(server, source_repo, cache, tmp_path):
    url = server.url("repo")
    out = tmp_path / "s.json"
    first = build_snapshot([url], str(out), cache_dir=str(cache), **FAST)
    hrefs = [str(metadata_path(source_repo, kind).relative_to(source_repo)) for kind in ("primary", "filelists")]
    assert sorted(server.requests) == sorted(["/repo/repodata/repomd.xml"] + ["/repo/" + h for h in hrefs])
    assert first.packages == 21 and first.repos[0].url == url and not first.repos[0].cached
    assert not first.repos[0].offline and first.warnings == ()
    snap = load_snapshot(str(out))
    assert snap.packages == load_target_packages(str(source_repo)).packages
    assert snap.repos[0].fetched_at and snap.repos[0].revision == read_repo(str(source_repo)).revision

    (entry,) = complete_entries(cache)
    assert (entry.parent / "latest").read_text().strip() == entry.name
    assert (entry / "repodata" / "repomd.xml").read_bytes() == (source_repo / "repodata/repomd.xml").read_bytes()
    assert (entry / fetch.ENTRY_MARKER).is_file() and (entry / parsed_cache_name()).is_file()

    # Second run: repomd.xml is asked for (that is how a change is seen), nothing else.
    server.requests.clear()
    second = build_snapshot([url], str(out), cache_dir=str(cache), **FAST)
    assert server.requests == ["/repo/repodata/repomd.xml"]
    assert second.repos[0].cached and second.packages == 21
    assert load_target_packages(url, cache_dir=str(cache), **FAST).packages == snap.packages


def test_changed_repository_gets_a_new_entry_and_the_old_one_goes(server, cache, tmp_path):
    url = server.url("repo")
    fetch.fetch_repo(url, str(cache), **FAST)
    (old,) = complete_entries(cache)
    served = server.root / "repo"
    shutil.rmtree(served / "repodata")
    subprocess.run(["createrepo_c", "--quiet", "--no-database", "--simple-md-filenames", str(served)], check=True)
    got = fetch.fetch_repo(url, str(cache), **FAST)
    (new,) = complete_entries(cache)
    assert new != old and got.path == new and not got.cached
    assert not [p for p in cache_contents(cache) if ".partial" in p or ".trash" in p]


def test_primary_404_is_one_line_and_caches_nothing(server, cache, tmp_path):
    server.plan["-primary.xml.gz"] = [404]
    with pytest.raises(BadInput) as exc:
        build_snapshot([server.url("repo")], str(tmp_path / "s.json"), cache_dir=str(cache), **FAST)
    assert_one_line(exc.value, server.url("repo"), "-primary.xml.gz: HTTP 404",
                    "(primary metadata listed in repodata/repomd.xml)")
    assert server.count("-primary.xml.gz") == 1  # a 404 is not retried
    assert cache_contents(cache) == [] and not (tmp_path / "s.json").exists()


def test_repomd_404_asks_whether_this_is_a_repository(server, cache):
    with pytest.raises(BadInput) as exc:
        fetch.fetch_repo(server.url("not-a-repo"), str(cache), **FAST)
    assert_one_line(exc.value, "/not-a-repo/repodata/repomd.xml: HTTP 404", "is this a repository URL?")
    assert cache_contents(cache) == []


def test_stalled_server_times_out_after_retries(server, cache):
    server.plan["repomd.xml"] = ["stall"] * 3
    with pytest.raises(BadInput) as exc:
        fetch.fetch_repo(server.url("repo"), str(cache), timeout=0.2, retries=2, backoff=0.01)
    assert_one_line(exc.value, "repodata/repomd.xml: timed out after 3 attempts (timeout 0.2s each)")
    assert server.count("repomd.xml") == 3
    assert cache_contents(cache) == []


def test_stall_mid_body_is_retried(server, cache):
    server.plan["-filelists.xml.gz"] = ["half-then-stall"]
    got = fetch.fetch_repo(server.url("repo"), str(cache), timeout=0.3, retries=1, backoff=0.01)
    assert server.count("-filelists.xml.gz") == 2 and not got.offline
    assert len(read_repo(str(got.path), server.url("repo")).packages) == 21


def test_server_errors_are_retried_until_success(server, cache, tmp_path):
    server.plan["-primary.xml.gz"] = [500, 503]
    server.plan["-filelists.xml.gz"] = [429, "truncate"]
    summary = build_snapshot([server.url("repo")], str(tmp_path / "s.json"), cache_dir=str(cache), **FAST)
    assert summary.packages == 21
    assert server.count("-primary.xml.gz") == 3 and server.count("-filelists.xml.gz") == 3
    assert len(complete_entries(cache)) == 1


def test_persistent_failures_end_after_the_retries(server, cache):
    server.plan["-filelists.xml.gz"] = ["truncate"] * 4
    with pytest.raises(BadInput) as exc:
        fetch.fetch_repo(server.url("repo"), str(cache), **FAST)
    assert_one_line(exc.value, "-filelists.xml.gz: truncated download (", "(4 attempts)")
    assert cache_contents(cache) == []
    server.plan["-primary.xml.gz"] = [502] * 2
    with pytest.raises(BadInput) as exc:
        fetch.fetch_repo(server.url("repo"), str(cache), timeout=5, retries=1, backoff=0.01)
    assert_one_line(exc.value, "-primary.xml.gz: HTTP 502 Bad Gateway (2 attempts)")
    assert cache_contents(cache) == []


def test_checksum_mismatch_over_http(server, cache):
    primary = metadata_path(server.root / "repo", "primary")
    data = bytearray(primary.read_bytes())
    data[30] ^= 0xFF
    primary.write_bytes(bytes(data))
    with pytest.raises(BadInput) as exc:
        fetch.fetch_repo(server.url("repo"), str(cache), **FAST)
    assert_one_line(exc.value, server.url("repo"), "-primary.xml.gz: checksum mismatch: expected sha256 ")
    assert server.count("-primary.xml.gz") == 1
    assert cache_contents(cache) == []


def test_unreachable_host(cache):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = "http://127.0.0.1:%d/repo/" % port
    with pytest.raises(BadInput) as exc:
        load_target_packages(url, cache_dir=str(cache), timeout=2, retries=1, backoff=0.01)
    assert_one_line(exc.value, "cannot connect to 127.0.0.1:%d: connection refused (2 attempts)" % port)
    assert cache_contents(cache) == []


def test_offline_use_of_a_complete_cache_entry(server, cache, tmp_path, capsys):
    url = server.url("repo")
    online = build_snapshot([url], str(tmp_path / "online.json"), cache_dir=str(cache), **FAST)
    server.stop()
    capsys.readouterr()
    offline = build_snapshot([url], str(tmp_path / "offline.json"), cache_dir=str(cache), timeout=2, retries=1,
                             backoff=0.01)
    assert offline.repos[0].offline and offline.packages == online.packages
    (warning,) = offline.warnings
    assert "network unavailable, using cached metadata fetched" in warning and "connection refused" in warning
    assert capsys.readouterr().err == ""  # build_snapshot returns its warnings: the CLI prints them
    snap = load_snapshot(str(tmp_path / "offline.json"))
    assert snap.offline and snap.repos[0].offline
    assert "came from the cache" in snap.warnings[0] and not load_snapshot(str(tmp_path / "online.json")).warnings
    assert snap.packages == load_snapshot(str(tmp_path / "online.json")).packages
    # Loading for an assessment says so on stderr as it happens (and in .warnings).
    loaded = load_target_packages(url, cache_dir=str(cache), timeout=2, retries=0)
    assert loaded.offline and len(loaded) == 21
    assert capsys.readouterr().err == "".join("migrate: warning: %s\n" % w for w in loaded.warnings)
    assert "network unavailable" in loaded.warnings[0]
    load_target_packages(str(tmp_path / "offline.json"))
    assert "came from the cache" in capsys.readouterr().err
    load_target_packages(url, cache_dir=str(cache), timeout=2, retries=0, warn=None)
    assert capsys.readouterr().err == ""


def test_changed_repository_unreachable_midway_falls_back_to_the_cache(server, cache):
    url = server.url("repo")
    before = fetch.fetch_repo(url, str(cache), **FAST)
    served = server.root / "repo"
    shutil.rmtree(served / "repodata")
    subprocess.run(["createrepo_c", "--quiet", "--no-database", "--simple-md-filenames", str(served)], check=True)
    server.plan["primary.xml.gz"] = [500] * 4
    got = fetch.fetch_repo(url, str(cache), **FAST)
    assert got.offline and got.path == before.path and "HTTP 500" in got.offline_reason
    assert complete_entries(cache) == [before.path]
    assert not [p for p in cache_contents(cache) if ".partial" in p]


def test_cache_dir_from_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGRATE_CACHE_DIR", str(tmp_path / "envcache"))
    got = fetch.fetch_repo(server.url("repo"), None, **FAST)
    assert got.path.parent.parent == tmp_path / "envcache"
    monkeypatch.delenv("MIGRATE_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fetch.default_cache_dir() == tmp_path / "home" / ".cache" / "migrate" / "repodata"


def test_concurrent_fetches_share_one_entry(server, cache):
    results, errors = [], []

    def run():
        try:
            results.append(fetch.fetch_repo(server.url("repo"), str(cache), **FAST))
        except Exception as exc:  # reported below
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len({r.path for r in results}) == 1
    assert len(complete_entries(cache)) == 1
    assert not [p for p in cache_contents(cache) if ".partial" in p or ".trash" in p]


CHILD = ("import sys; from migrate.snapshot import build_snapshot; "
         "build_snapshot([sys.argv[1]], sys.argv[2], cache_dir=sys.argv[3], timeout=60, retries=0)")


def _child_mid_download(server, cache, tmp_path):
    server.plan["-filelists.xml.gz"] = ["half-then-stall"]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, server.url("repo"), str(tmp_path / "s.json"), str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO_ROOT))
    if not server.half_sent.wait(60):
        proc.kill()
        pytest.fail("the child never started downloading filelists: %s" % proc.communicate()[1][-2000:])
    partial = [p for p in cache_contents(cache) if ".partial-" in p]
    assert partial, "the download should be in progress in a .partial directory"
    return proc


def test_interrupted_download_leaves_no_partial_entry(server, cache, tmp_path):
    proc = _child_mid_download(server, cache, tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    assert cache_contents(cache) == [] and not (tmp_path / "s.json").exists()


def test_killed_download_is_never_taken_for_an_entry(server, cache, tmp_path):
    proc = _child_mid_download(server, cache, tmp_path)
    proc.kill()
    proc.wait(timeout=60)
    leftovers = cache_contents(cache)
    assert any(".partial-%d-" % proc.pid in p for p in leftovers)  # SIGKILL cannot be cleaned up after
    assert complete_entries(cache) == [] and not any(p.endswith("latest") for p in leftovers)
    # The next run removes the dead process's partial directory and fetches properly.
    got = fetch.fetch_repo(server.url("repo"), str(cache), **FAST)
    assert not got.cached and complete_entries(cache) == [got.path]
    assert not [p for p in cache_contents(cache) if ".partial" in p]


def test_file_url_and_directory_need_no_cache(source_repo, cache, monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATE_CACHE_DIR", str(cache))
    assert len(load_target_packages("file://%s" % source_repo)) == 21
    assert cache_contents(cache) == []
    assert os.listdir(tmp_path) == ["cache"]


def test_damaged_cache_entry_is_fetched_again(server, cache):
    url = server.url("repo")
    first = fetch.fetch_repo(url, str(cache), **FAST)
    primary = metadata_path(first.path, "primary")
    primary.write_bytes(primary.read_bytes()[:100])  # say, a user's careless cleanup
    server.requests.clear()
    again = fetch.fetch_repo(url, str(cache), **FAST)
    assert not again.cached and server.count("-primary.xml.gz") == 1
    assert len(read_repo(str(again.path), url).packages) == 21


def test_location_xml_base_is_honoured(server, cache):
    # repomd.xml may point its files at another base URL (<location xml:base=...>).
    split = server.root / "split"
    shutil.copytree(server.root / "repo" / "repodata", split / "repodata")
    metadata_path(split, "primary").unlink()
    repomd = split / "repodata" / "repomd.xml"
    text = repomd.read_text()
    href = 'href="%s"' % metadata_path(server.root / "repo", "primary").relative_to(server.root / "repo")
    repomd.write_text(text.replace(href, 'xml:base="%s" %s' % (server.url("repo"), href)))
    got = fetch.fetch_repo(server.url("split"), str(cache), **FAST)
    assert [p for p in server.requests if p.endswith("-primary.xml.gz")] == [
        "/repo/" + href[len('href="'):-1]]
    assert len(read_repo(str(got.path), server.url("split")).packages) == 21
