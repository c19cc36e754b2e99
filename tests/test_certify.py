"""Compatibility certificates: digests (SM3, SHA-256) of canonical facts and of the manifest,
Ed25519 and SM2 signatures (checked against the openssl CLI as an independent oracle),
tampering of each kind detected, expiry, and the printable page in the browser."""
from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import stat
import subprocess

import pytest

from browser import Browser, available
from migrate import certify
from migrate.errors import BadInput
from migrate.manifests import load_manifest
from test_reports_html import ARTIFACTS, PAYLOAD
from test_reports_json import example_envelope

SM2_MISSING = certify._openssl()[1]
needs_sm2 = pytest.mark.skipif(SM2_MISSING is not None, reason="no SM2 here: %s" % SM2_MISSING)


@pytest.fixture(scope="module")
def report():
    return example_envelope("opencloudos-8")


@pytest.fixture(scope="module")
def manifest_path():
    return load_manifest("opencloudos-8").path


@pytest.fixture(scope="module")
def cert(report, manifest_path):
    return certify.build_certificate(report, manifest_path, 90)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("keys")
    out = {"ed25519": certify.keygen(str(directory / "ed"), "ed25519")}
    if SM2_MISSING is None:
        out["sm2"] = certify.keygen(str(directory / "sm"), "sm2")
    out["other"] = certify.keygen(str(directory / "other"), "ed25519")
    return out


def test_canonical_json_is_sorted_compact_utf8():
    assert certify.canonical_json({"b": [1, {"z": "é", "a": None}], "a": True}) == \
        '{"a":true,"b":[1,{"a":null,"z":"é"}]}'.encode("utf-8")


def test_certificate_content(cert, report, manifest_path):
    facts_bytes = certify.canonical_json(report["facts"])
    assert cert["facts"]["digests"]["sha256"] == hashlib.sha256(facts_bytes).hexdigest()
    assert cert["facts"]["digests"]["sm3"] == hashlib.new("sm3", facts_bytes).hexdigest()
    manifest_bytes = open(manifest_path, "rb").read()
    assert cert["manifest"]["digests"] == {"sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                                           "sm3": hashlib.new("sm3", manifest_bytes).hexdigest()}
    assert cert["manifest"]["id"] == "opencloudos-8" and cert["manifest"]["version"] == "8"
    assert cert["tool"]["name"] == "migrate" and cert["tool"]["version"]
    assert [(c["id"], c["status"]) for c in cert["checks"]] == \
        [(c["id"], c["status"]) for c in report["checks"]]
    assert cert["verdict"]["verdict"] == report["summary"]["verdict"]
    assert cert["verdict"]["complete"] is report["summary"]["complete"]
    start = dt.datetime.strptime(cert["valid_from"], "%Y-%m-%dT%H:%M:%SZ")
    end = dt.datetime.strptime(cert["valid_until"], "%Y-%m-%dT%H:%M:%SZ")
    assert end - start == dt.timedelta(days=90)
    assert certify.verify_certificate(cert, facts=report["facts"]) == []


def test_build_refuses_bad_input(report, manifest_path):
    no_facts = dict(report)
    no_facts.pop("facts")
    with pytest.raises(BadInput, match="no facts"):
        certify.build_certificate(no_facts, manifest_path, 30)
    with pytest.raises(BadInput, match="is for target anolis-8"):
        certify.build_certificate(report, load_manifest("anolis-8").path, 30)
    with pytest.raises(BadInput, match="validity"):
        certify.build_certificate(report, manifest_path, 0)
    other = copy.deepcopy(report)
    other["target"]["manifest_sha256"] = "0" * 64
    with pytest.raises(BadInput, match="not the one the report was assessed with"):
        certify.build_certificate(other, manifest_path, 30)


def test_keygen_modes_and_no_overwrite(keys, tmp_path):
    private, public = keys["ed25519"]
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert open(public).read().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(BadInput, match="refusing to overwrite"):
        certify.keygen(private[:-4], "ed25519")
    with pytest.raises(BadInput, match="unknown key algorithm"):
        certify.keygen(str(tmp_path / "x"), "rsa")


def openssl_verifies(cert, public, algorithm):
    """The oracle: the openssl CLI checks the signature over the canonical payload."""
    payload = certify.canonical_json({k: v for k, v in cert.items() if k != "signature"})
    directory = os.path.dirname(public)
    with open(os.path.join(directory, "payload"), "wb") as handle:
        handle.write(payload)
    with open(os.path.join(directory, "sig"), "wb") as handle:
        handle.write(base64.b64decode(cert["signature"]["value"]))
    argv = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin",
            "-in", os.path.join(directory, "payload"), "-sigfile", os.path.join(directory, "sig")]
    if algorithm == "sm2":
        argv[7:7] = ["-digest", "sm3", "-pkeyopt", "distid:" + certify.SM2_DISTID]
    return subprocess.run(argv, capture_output=True).returncode == 0


@pytest.mark.parametrize("algorithm", ["ed25519", pytest.param("sm2", marks=needs_sm2)])
def test_sign_and_verify(cert, report, keys, manifest_path, algorithm):
    private, public = keys[algorithm]
    signed = certify.sign_certificate(cert, private)
    assert signed["signature"]["algorithm"] == ("ed25519" if algorithm == "ed25519" else "sm2-sm3")
    assert certify.verify_certificate(signed, public, report["facts"],
                                      manifest_path=manifest_path) == []
    assert certify.verify_certificate(json.loads(json.dumps(signed)), public, report) == []
    assert openssl_verifies(signed, public, algorithm)
    wrong = certify.verify_certificate(signed, keys["other"][1])
    assert any("not with" in p for p in wrong) and any("bad signature" in p for p in wrong)


@pytest.fixture(scope="module", params=["ed25519", pytest.param("sm2", marks=needs_sm2)])
def signed(request, cert, keys):
    private, public = keys[request.param]
    return certify.sign_certificate(cert, private), public


def flip(text: str, index: int = 10) -> str:
    """`text` with one character changed."""
    char = text[index]
    return text[:index] + ("0" if char != "0" else "1") + text[index + 1:]


def test_one_byte_changed_in_the_facts_is_a_digest_mismatch(signed, report):
    cert, public = signed
    facts = copy.deepcopy(report["facts"])
    facts["packages"][3]["version"] = flip(facts["packages"][3]["version"], 0)
    problems = certify.verify_certificate(cert, public, facts)
    assert problems and all("facts" in p and "digest mismatch" in p for p in problems)
    assert any("SHA-256" in p for p in problems) and any("SM3" in p for p in problems)


@pytest.mark.parametrize("field", ["facts", "manifest"])
def test_a_changed_digest_breaks_the_signature(signed, report, field):
    cert, public = copy.deepcopy(signed[0]), signed[1]
    cert[field]["digests"]["sha256"] = flip(cert[field]["digests"]["sha256"])
    problems = certify.verify_certificate(cert, public)
    assert "field %s was changed after signing" % field in problems
    assert any(p.startswith("bad signature") for p in problems)
    if field == "facts":
        assert any("facts SHA-256 digest mismatch" in p for p in
                   certify.verify_certificate(cert, public, report["facts"]))


def test_a_changed_signature_is_a_bad_signature(signed):
    cert, public = copy.deepcopy(signed[0]), signed[1]
    raw = bytearray(base64.b64decode(cert["signature"]["value"]))
    raw[len(raw) // 2] ^= 0x01
    cert["signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    problems = certify.verify_certificate(cert, public)
    assert problems == ["bad signature: the certificate or its signature was altered, "
                        "or it was signed with another key"]


def test_tampered_fields_are_named(signed):
    cert, public = copy.deepcopy(signed[0]), signed[1]
    cert["valid_until"] = "2099-01-01T00:00:00Z"
    cert["checks"][0]["status"] = "passed"
    cert["extra"] = "x"
    problems = certify.verify_certificate(cert, public)
    for expected in ("field valid_until was changed after signing",
                     "field checks was changed after signing", "field extra was added after signing"):
        assert expected in problems
    # without the key the field digests still tell, though they prove nothing on their own
    assert "field checks was changed after signing" in certify.verify_certificate(cert)


def test_inconsistent_verdict_is_reported_even_unsigned(cert):
    forged = copy.deepcopy(cert)
    forged["verdict"]["verdict"] = "ready"
    forged["findings"].append({"id": "x.blocker", "severity": "blocker", "waived": False,
                               "subjects": []})
    problems = certify.verify_certificate(forged)
    assert any("verdict.blockers" in p for p in problems)


def test_expiry_and_not_yet_valid(signed):
    cert, public = signed
    end = dt.datetime.strptime(cert["valid_until"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)
    assert certify.verify_certificate(cert, public, now=end) == []
    later = certify.verify_certificate(cert, public, now=end + dt.timedelta(seconds=1))
    assert later == ["expired on %s" % cert["valid_until"]]
    early = certify.verify_certificate(cert, public, now=end - dt.timedelta(days=365))
    assert early == ["not valid before %s" % cert["valid_from"]]


def test_unsigned_certificate_with_a_key_is_a_problem(cert, keys):
    assert certify.verify_certificate(cert, keys["ed25519"][1]) == ["the certificate is not signed"]


def test_sm3_unavailable_is_said_not_faked(report, manifest_path, monkeypatch, keys):
    monkeypatch.setattr(certify, "sm3_unavailable", lambda: "no SM3 in this OpenSSL (test)")
    cert = certify.build_certificate(report, manifest_path, 10)
    assert cert["facts"]["digests"]["sm3"] is None and cert["manifest"]["digests"]["sm3"] is None
    assert cert["facts"]["sm3_unavailable"] == "no SM3 in this OpenSSL (test)"
    signed = certify.sign_certificate(cert, keys["ed25519"][0])
    monkeypatch.undo()
    assert certify.verify_certificate(signed, keys["ed25519"][1], report["facts"]) == []


def test_sm2_without_openssl_support_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(certify.shutil, "which", lambda name: None)
    with pytest.raises(certify.CertifyError, match="SM2 is not available: no openssl"):
        certify.keygen(str(tmp_path / "k"), "sm2")
    assert not list(tmp_path.iterdir())


def test_certificate_page_in_the_browser(signed, tmp_path):
    assert available(), "Debian's chromium is needed (scripts/test.sh installs it)"
    cert = copy.deepcopy(signed[0])
    html = certify.render_certificate_html(cert)
    assert cert["facts"]["digests"]["sha256"] in html and cert["signature"]["value"] in html
    cert["host"]["hostname"] = PAYLOAD
    hostile = certify.render_certificate_html(cert)
    assert PAYLOAD not in hostile and hostile.count("<script") == 1
    with Browser() as browser:
        for name, text in (("cert.html", html), ("cert-hostile.html", hostile)):
            path = tmp_path / name
            path.write_text(text, encoding="utf-8")
            page = browser.load(path, width=1000)
            assert page.errors() == [] and page.requests == []
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.evaluate("document.getElementById('verdict').dataset.verdict") == \
                cert["verdict"]["verdict"]
            if name == "cert.html":
                page.screenshot(ARTIFACTS / ("certificate-%s.png" % cert["signature"]["algorithm"]),
                                width=1000)
            page.close()
