"""Test GPG signing keys and package signing.

Each key label (`centos7`, `centos8`, `docker`, `elrepo`, `kubernetes`, ...)
gets one RSA-2048 signing key, generated once with
`gpg --batch --quick-gen-key` in its own GNUPGHOME (no passphrase) and stored in
the cache under `keys-<builder digest>/<label>/` together with `keyid` (16 hex,
lowercase, what `rpm -qi` prints as "Key ID"), `fingerprint` and `pubkey.asc`.
A host records the key ids it was signed with in its own cache entry, so they
stay fixed for that entry.

Signing copies the needed keys into a throw-away GNUPGHOME, runs
`rpmsign --addsign --rpmv3` (header signature plus header+payload signature,
RSA/SHA256, like EL7/EL8 packages) in parallel chunks, and stops the gpg-agent
it started. rpmsign exits 0 even when gpg fails, so every signed package is
checked afterwards.
"""

import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from .tools import ToolError, chunks, jobs, run, run_parallel, which


@dataclass(frozen=True)
class KeyInfo:
    label: str
    keyid: str          # 16 lowercase hex digits
    fingerprint: str    # 40 uppercase hex digits
    home: Path          # cached GNUPGHOME holding the secret key
    pubkey: Path        # ASCII-armoured public key


def _gpg(home: Path, *args: str) -> bytes:
    return run([which("gpg"), "--homedir", str(home), "--batch", "--no-tty", *args]).stdout


def _kill_agent(home: Path) -> None:
    try:
        run([which("gpgconf"), "--homedir", str(home), "--kill", "all"])
    except ToolError:
        pass


def _read(label_dir: Path) -> KeyInfo:
    return KeyInfo(
        label=label_dir.name,
        keyid=(label_dir / "keyid").read_text().strip(),
        fingerprint=(label_dir / "fingerprint").read_text().strip(),
        home=label_dir / "gnupg",
        pubkey=label_dir / "pubkey.asc",
    )


def ensure_key(store: Path, label: str) -> KeyInfo:
    """Return the key for `label`, generating it once (race-safe) if needed."""
    if not label.replace("-", "").replace("_", "").isalnum():
        raise ValueError("bad key label %r" % label)
    final = store / label
    if (final / "keyid").exists():
        return _read(final)
    store.mkdir(parents=True, exist_ok=True)
    with open(store / (".%s.lock" % label), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "keyid").exists():
            return _read(final)
        work = Path(tempfile.mkdtemp(prefix="hostbuild-gpg-"))
        try:
            home = work / "gnupg"
            home.mkdir(mode=0o700)
            uid = "hostbuild test key %s <%s@hostbuild.invalid>" % (label, label)
            _gpg(home, "--passphrase", "", "--pinentry-mode", "loopback",
                 "--quick-gen-key", uid, "rsa2048", "sign", "never")
            colons = _gpg(home, "--with-colons", "--list-secret-keys").decode()
            fpr = [ln.split(":")[9] for ln in colons.splitlines() if ln.startswith("fpr:")][0]
            pub = _gpg(home, "--armor", "--export", fpr)
            _kill_agent(home)
            tmp = store / (".tmp-%s-%d" % (label, os.getpid()))
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            shutil.copytree(home, tmp / "gnupg",
                            ignore=shutil.ignore_patterns("S.*", "*.lock", ".#*"))
            (tmp / "pubkey.asc").write_bytes(pub)
            (tmp / "fingerprint").write_text(fpr.upper() + "\n")
            (tmp / "keyid").write_text(fpr[-16:].lower() + "\n")
            os.rename(tmp, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return _read(final)


def sign_rpms(by_label: Dict[str, List[Path]], keys: Dict[str, KeyInfo]) -> None:
    """Sign each list of rpm files with the key of its label."""
    todo = {label: files for label, files in by_label.items() if files}
    if not todo:
        return
    work = Path(tempfile.mkdtemp(prefix="hostbuild-sign-"))
    home = work / "g"
    try:
        home.mkdir(mode=0o700)
        for label in todo:
            secret = _gpg(keys[label].home, "--export-secret-keys", keys[label].fingerprint)
            run([which("gpg"), "--homedir", str(home), "--batch", "--import"], input=secret)
        argvs = []
        for label, files in todo.items():
            for part in chunks(sorted(files), jobs()):
                argvs.append([
                    which("rpmsign"), "--addsign", "--rpmv3",
                    "--define", "__gpg %s" % which("gpg"),
                    "--define", "_gpg_path %s" % home,
                    "--define", "_gpg_name %s" % keys[label].fingerprint,
                    "--define", "_gpg_digest_algo sha256",
                ] + [str(f) for f in part])
        _run_in_waves(argvs)
    finally:
        _kill_agent(home)
        shutil.rmtree(work, ignore_errors=True)


def _run_in_waves(argvs: List[List[str]]) -> None:
    n = jobs()
    for i in range(0, len(argvs), n):
        run_parallel(argvs[i:i + n])
