"""Pure parsers of the collector: ini like dnf, /proc files, versions like rpm."""
import doctest

import pytest
import rpm  # the real library (python3-rpm via the PyPI shim, installed by scripts/test.sh)

from migrate import collector
from migrate.collector import IniError, parse_ini, rpmvercmp, labelcompare


def test_collector_doctests_pass():
    result = doctest.testmod(collector)
    assert result.attempted >= 6 and result.failed == 0


def test_ini_continuation_lines_join_like_dnf():
    sections = parse_ini("[base]\nname=Base\nbaseurl=http://a/\n  http://b/\n\thttp://c/\nenabled=1\n")
    assert sections == [("base", {"name": "Base", "baseurl": "http://a/\nhttp://b/\nhttp://c/",
                                   "enabled": "1"})]


def test_ini_comments_and_blank_lines_are_ignored():
    text = "# top\n; semi\n[a]\n\n# inside\nname = A \n\n[b]\nname=B\n"
    assert parse_ini(text) == [("a", {"name": "A"}), ("b", {"name": "B"})]


@pytest.mark.parametrize("text,where", [
    ("[base\nname=x\n", "line 1"),
    ("name=x\n[base]\n", "line 1"),
    ("[base]\nthis is garbage\n", "line 2"),
    ("[base]\n=value\n", "line 2"),
])
def test_ini_garbage_raises_with_line_number(text, where):
    with pytest.raises(IniError) as info:
        parse_ini(text)
    assert str(info.value).startswith(where)


def test_repo_expansion_keeps_unknown_variables():
    repo = collector.repo_from_options(
        "base", {"baseurl": "http://m/$releasever/${basearch}/$contentdir/", "gpgcheck": "0"},
        "/etc/yum.repos.d/x.repo", {"releasever": "8", "basearch": "x86_64"})
    assert repo["baseurl"] == ["http://m/$releasever/${basearch}/$contentdir/"]
    assert repo["expanded"]["baseurl"] == ["http://m/8/x86_64/$contentdir/"]
    assert repo["gpgcheck"] is False and repo["enabled"] is True


def test_proc_modules_parses_taint_and_users():
    mods = collector.parse_proc_modules(
        "nf_conntrack 172032 3 xt_conntrack,nf_nat, Live 0xffffffffc0830000\n"
        "wireguard 229376 0 - Live 0xffffffffc0a1b000 (OE)\n")
    assert mods[0]["used_by"] == ["xt_conntrack", "nf_nat"] and mods[0]["taint"] is None
    assert mods[1]["taint"] == "OE" and mods[1]["refcount"] == 0


def test_proc_crypto_entries():
    text = ("name         : sm3\ndriver       : sm3-generic\nmodule       : sm3_generic\n"
            "priority     : 100\ntype         : shash\n\n"
            "name         : sha256\ndriver       : sha256-avx2\nmodule       : kernel\n"
            "priority     : 170\ntype         : shash\n")
    algs = collector.parse_proc_crypto(text)
    assert [(a["name"], a["driver"], a["module"], a["priority"]) for a in algs] == [
        ("sm3", "sm3-generic", "sm3_generic", 100), ("sha256", "sha256-avx2", "kernel", 170)]


def test_openssl_lists_of_three_generations():
    v10 = "DSA\nDSA-SHA\nSHA256\nRSA-SHA256 => SHA256\n"
    v30 = "Legacy:\n  RSA-SHA256 => SHA256\nProvided:\n  { 1.2.156.10197.1.401, SM3 } @ default\n"
    assert collector.parse_openssl_list(v10) == ["DSA", "DSA-SHA", "RSA-SHA256", "SHA256"]
    assert collector.parse_openssl_list(v30) == ["RSA-SHA256", "SM3"]


# rpmdev-vercmp-style cases: (a, b, expected) as rpm orders them.
VERCMP_CASES = [
    ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0.1", "2.0", 1), ("2.0.1a", "2.0.1", 1),
    ("5.5p1", "5.5p2", -1), ("5.5p10", "5.5p1", 1), ("10xyz", "10.1xyz", -1),
    ("xyz10", "xyz10.1", -1), ("1.0aa", "1.0a", 1), ("1b.fc17", "1.fc17", -1),
    ("1.0~rc1", "1.0", -1), ("1.0~rc1", "1.0~rc2", -1), ("1.0~rc1~git123", "1.0~rc1", -1),
    ("1.0^", "1.0", 1), ("1.0^git1", "1.0", 1), ("1.0^git1", "1.01", -1),
    ("1.0^20160101", "1.0.1", -1), ("2.0", "2_0", 0), ("2a", "2.0", -1), ("a", "1", -1),
    ("1.2.3", "1.2.3.0", -1), ("0.5.0.post1", "0.5.0", 1), ("348.7.1.el8_5", "348.el8", 1),
    ("1160.119.1.el7", "1160.118.1.el7", 1), ("4.18.0", "4.18.0", 0),
]


@pytest.mark.parametrize("a,b,expected", VERCMP_CASES)
def test_rpmvercmp_orders_like_rpm(a, b, expected):
    assert rpmvercmp(a, b) == expected
    assert rpmvercmp(b, a) == -expected


@pytest.mark.parametrize("a,b,expected", VERCMP_CASES)
def test_rpmvercmp_agrees_with_the_real_rpm_library(a, b, expected):
    assert labelcompare((None, a, "1"), (None, b, "1")) == rpm.labelCompare(("0", a, "1"), ("0", b, "1"))


def test_epoch_wins_over_version():
    assert labelcompare((1, "1.0", "1"), (None, "9.9", "9")) == 1
    assert labelcompare((None, "1.0", "1"), (0, "1.0", "1")) == 0
