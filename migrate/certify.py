"""Compatibility certificates: what was assessed, against which manifest, with which
result, digested (SM3 and SHA-256) and signed (Ed25519, or SM2 through the openssl CLI).

A certificate is a JSON object. ``build_certificate`` makes one from a report
envelope (it needs the envelope's ``facts``) and the target manifest file;
``sign_certificate`` adds a ``signature`` block over the canonical JSON of every
other field; ``verify_certificate`` returns every problem it finds (bad signature,
a field changed after signing, facts or manifest digest mismatch, expired or not yet
valid, inconsistent verdict); ``render_certificate_html`` prints it.

Canonical JSON (facts digest and signed payload): keys sorted, no whitespace,
UTF-8, non-ASCII characters as themselves. SM3 comes from hashlib (OpenSSL 3);
where it is missing the certificate says so (``sm3: null`` and ``sm3_unavailable``)
rather than inventing a digest.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from typing import Any, Dict, List, Optional, Tuple

from migrate import __version__
from migrate.errors import BadInput, MigrateError

CERTIFICATE_VERSION = 1
KIND = "migrate compatibility certificate"
CANONICAL = "JSON, keys sorted, no whitespace, UTF-8"
SM2_DISTID = "1234567812345678"  # the GM/T 0009 default user id
_SM2_OID = b"\x06\x08\x2a\x81\x1c\xcf\x55\x01\x82\x2d"  # 1.2.156.10197.1.301
ALGORITHMS = ("ed25519", "sm2")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class CertifyError(MigrateError):
    """A signing or verification step could not run (e.g. OpenSSL without SM2)."""


# -- canonical JSON and digests --------------------------------------------------------

def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sm3_unavailable() -> Optional[str]:
    """Why SM3 cannot be computed here, or None when hashlib has it."""
    try:
        hashlib.new("sm3", b"")
    except ValueError as exc:
        return "hashlib has no SM3 here (%s); this Python's OpenSSL does not provide it" % exc
    return None


def digests(data: bytes) -> Dict[str, Optional[str]]:
    """SHA-256 and SM3 (None when SM3 is unavailable) of `data`."""
    out: Dict[str, Optional[str]] = {"sha256": hashlib.sha256(data).hexdigest(), "sm3": None}
    if sm3_unavailable() is None:
        out["sm3"] = hashlib.new("sm3", data).hexdigest()
    return out


def _digest_block(data: bytes) -> Dict[str, Any]:
    block: Dict[str, Any] = {"digests": digests(data)}
    reason = sm3_unavailable()
    if reason:
        block["sm3_unavailable"] = reason
    return block


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def _time(value: _dt.datetime) -> str:
    return value.astimezone(_dt.timezone.utc).strftime(_TIME)


def _parse_time(value: Any) -> Optional[_dt.datetime]:
    try:
        return _dt.datetime.strptime(str(value), _TIME).replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None


# -- building ---------------------------------------------------------------------------

def _facts_of(value: Dict[str, Any]) -> Dict[str, Any]:
    """Facts given directly, or inside a report envelope."""
    if "summary" in value and "checks" in value and isinstance(value.get("facts"), dict):
        return value["facts"]
    return value


def build_certificate(report: Dict[str, Any], manifest_path: str, validity_days: int,
                      now: Optional[_dt.datetime] = None) -> Dict[str, Any]:
    """An unsigned certificate for the assessment in `report` (a JSON envelope with
    facts) against the manifest file at `manifest_path`, valid for `validity_days`."""
    from migrate.manifests import load_manifest_file

    if not isinstance(validity_days, int) or validity_days < 1:
        raise BadInput("validity must be a whole number of days, at least 1 (got %r)"
                       % (validity_days,))
    facts = report.get("facts")
    if not isinstance(facts, dict):
        raise BadInput("the report has no facts: certify a report written with its facts "
                       "(`migrate assess --json` or `-o report.json`)")
    try:
        with open(manifest_path, "rb") as handle:
            manifest_bytes = handle.read()
    except OSError as exc:
        raise BadInput("cannot read manifest %s: %s" % (manifest_path, exc.strerror or exc)) from None
    manifest = load_manifest_file(manifest_path)
    target = report.get("target") or {}
    if manifest.id != target.get("id"):
        raise BadInput("manifest %s is for target %s, but the report assessed %s"
                       % (manifest_path, manifest.id, target.get("id")))
    recorded = target.get("manifest_sha256")
    if recorded and recorded != hashlib.sha256(manifest_bytes).hexdigest():
        raise BadInput("manifest %s is not the one the report was assessed with (SHA-256 "
                       "differs from the report's target.manifest_sha256)" % manifest_path)
    summary = report.get("summary") or {}
    source = report.get("source")
    host = report.get("host") or {}
    issued = now or _now()
    return {
        "certificate": KIND,
        "certificate_version": CERTIFICATE_VERSION,
        "serial": uuid.uuid4().hex,
        "issued_at": _time(issued),
        "valid_from": _time(issued),
        "valid_until": _time(issued + _dt.timedelta(days=validity_days)),
        "tool": {"name": "migrate", "version": __version__},
        "report": {"schema_version": report.get("schema_version"),
                   "generated_at": report.get("generated_at"),
                   "tool_version": (report.get("tool") or {}).get("version")},
        "host": {"hostname": host.get("hostname"), "machine_id_sha256": host.get("machine_id_sha256"),
                 "arch": host.get("arch")},
        "source": None if not isinstance(source, dict) else {
            k: source.get(k) for k in ("label", "distro", "variant", "major", "minor")},
        "target": {"id": manifest.id, "name": manifest.name, "version": manifest.version},
        "manifest": dict({"id": manifest.id, "version": manifest.version,
                          "schema_version": manifest.raw.get("schema_version"),
                          "file": os.path.basename(manifest_path)}, **_digest_block(manifest_bytes)),
        "facts": dict({"schema_version": facts.get("schema_version"),
                       "collected_at": facts.get("collected_at"),
                       "canonicalization": CANONICAL}, **_digest_block(canonical_json(facts))),
        "checks": [{"id": c.get("id"), "status": c.get("status"),
                    "finding_ids": list(c.get("finding_ids") or ())}
                   for c in report.get("checks") or ()],
        "findings": [{"id": f.get("id"), "severity": f.get("severity"),
                      "waived": bool(f.get("waived")), "subjects": list(f.get("subjects") or ())}
                     for f in report.get("findings") or ()],
        "verdict": {"verdict": summary.get("verdict"), "complete": summary.get("complete"),
                    **{k: summary.get(k) for k in ("blockers", "warnings", "info", "waived")}},
    }


# -- keys -------------------------------------------------------------------------------

def _openssl() -> Tuple[Optional[str], Optional[str]]:
    """(path of openssl, None) when it can sign with SM2, else (None, why not)."""
    path = shutil.which("openssl")
    if path is None:
        return None, "no openssl command on PATH"
    try:
        version = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30).stdout
        listed = subprocess.run([path, "list", "-public-key-algorithms"], capture_output=True,
                                text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "openssl does not run: %s" % exc
    match = re.match(r"OpenSSL (\d+)\.", version)
    if not match or int(match.group(1)) < 3:
        return None, "SM2 signatures need OpenSSL 3 (found %r)" % version.strip()
    if "SM2" not in listed:
        return None, "this OpenSSL (%s) does not list SM2" % version.strip()
    return path, None


def _require_openssl() -> str:
    path, why = _openssl()
    if path is None:
        raise CertifyError("SM2 is not available: %s" % why)
    return path


def _run_openssl(argv: List[str], stdin: Optional[bytes] = None) -> bytes:
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=60)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CertifyError("%s failed: %s" % (" ".join(argv[:3]), message[0] if message else
                                                "exit %d" % proc.returncode))
    return proc.stdout


def _write_new(path: str, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise BadInput("%s exists: refusing to overwrite a key" % path) from None
    except OSError as exc:
        raise BadInput("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        os.unlink(path)
        raise


def keygen(path_prefix: str, algorithm: str = "ed25519") -> Tuple[str, str]:
    """Write ``<prefix>.key`` (private, mode 0600) and ``<prefix>.pub`` (public) PEM
    files; returns their paths. Existing files are never overwritten."""
    if algorithm not in ALGORITHMS:
        raise BadInput("unknown key algorithm %r (choose %s)" % (algorithm, " or ".join(ALGORITHMS)))
    private_path, public_path = path_prefix + ".key", path_prefix + ".pub"
    for path in (private_path, public_path):
        if os.path.exists(path):
            raise BadInput("%s exists: refusing to overwrite a key" % path)
    if algorithm == "ed25519":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        openssl = _require_openssl()
        private = _run_openssl([openssl, "genpkey", "-algorithm", "SM2"])
        public = _run_openssl([openssl, "pkey", "-pubout"], stdin=private)
    _write_new(private_path, private, 0o600)
    try:
        _write_new(public_path, public, 0o644)
    except BaseException:
        os.unlink(private_path)
        raise
    return private_path, public_path


def _pem_der(pem: bytes, what: str) -> bytes:
    lines = pem.decode("ascii", "replace").strip().splitlines()
    body = [line for line in lines if line and not line.startswith("-----")]
    if not lines or not lines[0].startswith("-----BEGIN ") or not body:
        raise BadInput("%s is not a PEM file" % what)
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("%s is not a PEM file (bad base64)" % what) from None


def _read_key(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise BadInput("cannot read key %s: %s" % (path, exc.strerror or exc)) from None


def _key_algorithm(pem: bytes, path: str) -> str:
    return "sm2" if _SM2_OID in _pem_der(pem, path) else "ed25519"


def _public_pem_of(private_pem: bytes, path: str) -> bytes:
    if _key_algorithm(private_pem, path) == "sm2":
        return _run_openssl([_require_openssl(), "pkey", "-pubout"], stdin=private_pem)
    from cryptography.hazmat.primitives import serialization
    return _load_ed25519_private(private_pem, path).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _load_ed25519_private(pem: bytes, path: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise BadInput("%s: not an unencrypted PEM private key (%s)" % (path, exc)) from None
    except Exception as exc:  # cryptography's UnsupportedAlgorithm
        raise BadInput("%s: unsupported private key: %s" % (path, exc)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput("%s: an Ed25519 or SM2 private key is needed, not %s"
                       % (path, type(key).__name__))
    return key


def key_fingerprint(public_pem: bytes, what: str = "public key") -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(_pem_der(public_pem, what)).hexdigest()


# -- signing and verifying ----------------------------------------------------------------

def _payload(cert: Dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in cert.items() if k != "signature"})


def _field_digests(cert: Dict[str, Any]) -> Dict[str, str]:
    return {k: hashlib.sha256(canonical_json(v)).hexdigest()
            for k, v in sorted(cert.items()) if k != "signature"}


def sign_certificate(cert: Dict[str, Any], private_key_path: str) -> Dict[str, Any]:
    """A copy of `cert` with a ``signature`` block over the canonical JSON of all its
    other fields (Ed25519 via `cryptography`, SM2 with SM3 via the openssl CLI)."""
    pem = _read_key(private_key_path)
    algorithm = _key_algorithm(pem, private_key_path)
    body = {k: v for k, v in cert.items() if k != "signature"}
    payload = _payload(body)
    block: Dict[str, Any] = {"algorithm": "ed25519" if algorithm == "ed25519" else "sm2-sm3",
                             "key_sha256": key_fingerprint(_public_pem_of(pem, private_key_path)),
                             "signed_fields": _field_digests(body),
                             "signed_at": _time(_now())}
    if algorithm == "ed25519":
        value = _load_ed25519_private(pem, private_key_path).sign(payload)
    else:
        block["distid"] = SM2_DISTID
        openssl = _require_openssl()
        with tempfile.TemporaryDirectory(prefix="migrate-sign-") as tmp:
            message = os.path.join(tmp, "payload")
            with open(message, "wb") as handle:
                handle.write(payload)
            value = _run_openssl([openssl, "pkeyutl", "-sign", "-inkey", private_key_path,
                                  "-rawin", "-digest", "sm3", "-pkeyopt", "distid:" + SM2_DISTID,
                                  "-in", message])
    block["value"] = base64.b64encode(value).decode("ascii")
    return dict(body, signature=block)


def _signature_ok(block: Dict[str, Any], payload: bytes, public_pem: bytes, path: str) -> bool:
    try:
        value = base64.b64decode(str(block.get("value", "")), validate=True)
    except (binascii.Error, ValueError):
        return False
    algorithm = block.get("algorithm")
    if algorithm == "ed25519":
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            key = serialization.load_pem_public_key(public_pem)
        except Exception as exc:
            raise BadInput("%s: not a usable public key (%s)" % (path, exc)) from None
        if not isinstance(key, Ed25519PublicKey):
            raise BadInput("%s is not an Ed25519 public key" % path)
        try:
            key.verify(value, payload)
            return True
        except InvalidSignature:
            return False
    if algorithm == "sm2-sm3":
        openssl = _require_openssl()
        with tempfile.TemporaryDirectory(prefix="migrate-verify-") as tmp:
            message, signature = os.path.join(tmp, "payload"), os.path.join(tmp, "signature")
            with open(message, "wb") as handle:
                handle.write(payload)
            with open(signature, "wb") as handle:
                handle.write(value)
            proc = subprocess.run(
                [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", path, "-rawin", "-digest", "sm3",
                 "-pkeyopt", "distid:" + str(block.get("distid") or SM2_DISTID),
                 "-in", message, "-sigfile", signature], capture_output=True, timeout=60)
            return proc.returncode == 0
    return False


def _check_digests(name: str, recorded: Any, data: bytes) -> List[str]:
    if not isinstance(recorded, dict):
        return ["%s digests are missing" % name]
    actual = digests(data)
    problems = []
    for algorithm in ("sha256", "sm3"):
        want = recorded.get(algorithm)
        if algorithm == "sm3" and (want is None or actual["sm3"] is None):
            continue  # SM3 was not available when issuing, or is not available here
        if want != actual[algorithm]:
            problems.append("%s %s digest mismatch: certificate has %s, computed %s"
                            % (name, algorithm.upper().replace("SHA256", "SHA-256"), want,
                               actual[algorithm]))
    return problems


REQUIRED = ("certificate", "certificate_version", "issued_at", "valid_from", "valid_until", "tool",
            "host", "target", "manifest", "facts", "checks", "findings", "verdict")


def _consistency(cert: Dict[str, Any]) -> List[str]:
    problems = []
    verdict = cert.get("verdict") or {}
    findings = [f for f in cert.get("findings") or () if isinstance(f, dict)]
    for severity, key in (("blocker", "blockers"), ("warning", "warnings"), ("info", "info")):
        counted = sum(1 for f in findings if f.get("severity") == severity and not f.get("waived"))
        if verdict.get(key) != counted:
            problems.append("verdict.%s is %r but the certificate lists %d unwaived %s finding(s)"
                            % (key, verdict.get(key), counted, severity))
    expected = ("blocked" if verdict.get("blockers") else "ready_with_warnings"
                if verdict.get("warnings") else "ready")
    if verdict.get("verdict") != expected:
        problems.append("verdict %r does not follow from its counts (expected %r)"
                        % (verdict.get("verdict"), expected))
    statuses = {"passed", "findings", "not_applicable", "skipped", "error"}
    for check in cert.get("checks") or ():
        if not isinstance(check, dict) or check.get("status") not in statuses:
            problems.append("check %r has no valid status" % (check,))
        elif check.get("status") in ("skipped", "error") and verdict.get("complete") is True:
            problems.append("verdict says complete but check %s was %s"
                            % (check.get("id"), check["status"]))
    return problems


def _guarded(what: str, check: Any, *args: Any) -> List[str]:
    """Run a verification step; a tampered structure (a string where an object belongs)
    is a problem to report, never a crash."""
    try:
        return check(*args)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        return ["malformed %s: %s: %s" % (what, type(exc).__name__, exc)]


def verify_certificate(cert: Dict[str, Any], pubkey_path: Optional[str] = None,
                       facts: Optional[Dict[str, Any]] = None, *,
                       manifest_path: Optional[str] = None,
                       now: Optional[_dt.datetime] = None) -> List[str]:
    """Every problem of `cert` (empty: it verifies). With `pubkey_path` the signature
    must be present and valid for that key; with `facts` (the facts, or a report that
    holds them) and `manifest_path` their digests must match."""
    if not isinstance(cert, dict):
        return ["not a certificate: expected a JSON object"]
    problems = ["missing field %s" % k for k in REQUIRED if k not in cert]
    if cert.get("certificate") != KIND:
        problems.append("not a %s" % KIND)
    if cert.get("certificate_version") != CERTIFICATE_VERSION:
        problems.append("certificate_version %r is not supported (this migrate reads %d)"
                        % (cert.get("certificate_version"), CERTIFICATE_VERSION))
    moment = now or _now()
    start, end = _parse_time(cert.get("valid_from")), _parse_time(cert.get("valid_until"))
    if start is None or end is None:
        problems.append("validity dates are missing or malformed")
    else:
        if end <= start:
            problems.append("valid_until is not after valid_from")
        if moment > end:
            problems.append("expired on %s" % cert["valid_until"])
        if moment < start:
            problems.append("not valid before %s" % cert["valid_from"])
    problems += _guarded("certificate", _consistency, cert)

    signature = cert.get("signature")
    if signature is None:
        if pubkey_path:
            problems.append("the certificate is not signed")
    elif not isinstance(signature, dict):
        problems.append("the signature block is malformed")
    else:
        recorded = signature.get("signed_fields") or {}
        current = _field_digests(cert)
        for field in sorted(set(recorded) | set(current)):
            if field not in current:
                problems.append("field %s was removed after signing" % field)
            elif field not in recorded:
                problems.append("field %s was added after signing" % field)
            elif recorded[field] != current[field]:
                problems.append("field %s was changed after signing" % field)
        if pubkey_path:
            public_pem = _read_key(pubkey_path)
            fingerprint = key_fingerprint(public_pem, pubkey_path)
            if signature.get("key_sha256") != fingerprint:
                problems.append("signed with key %s, not with %s (%s)" % (
                    str(signature.get("key_sha256"))[:16], pubkey_path, fingerprint[:16]))
            if signature.get("algorithm") not in ("ed25519", "sm2-sm3"):
                problems.append("unknown signature algorithm %r" % signature.get("algorithm"))
            elif not _signature_ok(signature, _payload(cert), public_pem, pubkey_path):
                problems.append("bad signature: the certificate or its signature was altered, "
                                "or it was signed with another key")

    if facts is not None:
        problems += _guarded("certificate facts block", lambda: _check_digests(
            "facts", (cert.get("facts") or {}).get("digests"), canonical_json(_facts_of(facts))))
    if manifest_path is not None:
        try:
            with open(manifest_path, "rb") as handle:
                manifest_bytes = handle.read()
        except OSError as exc:
            raise BadInput("cannot read manifest %s: %s" % (manifest_path, exc.strerror or exc)
                           ) from None
        problems += _guarded("certificate manifest block", lambda: _check_digests(
            "manifest", (cert.get("manifest") or {}).get("digests"), manifest_bytes))
    return problems


def load_certificate(path: str) -> Dict[str, Any]:
    """Read a certificate JSON file (one BadInput line on any problem)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BadInput("cannot read certificate %s: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise BadInput("%s: not a JSON certificate (%s)" % (path, exc)) from None
    if not isinstance(data, dict):
        raise BadInput("%s: not a certificate (expected a JSON object)" % path)
    return data


def render_certificate_html(cert: Dict[str, Any]) -> str:
    """A printable HTML page of the certificate (self-contained, autoescaped)."""
    from migrate.reports import htmlkit

    verdict = cert.get("verdict") or {}
    label, cls = htmlkit.VERDICTS.get(str(verdict.get("verdict")), ("Unknown", "blocked"))
    return htmlkit.render("certificate.html.j2", c=cert, verdict=verdict, label=label, cls=cls,
                          sm3_missing=sm3_unavailable())
