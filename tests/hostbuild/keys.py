"""Test GPG signing keys and package signing.

Each key label (`centos7`, `centos8`, `docker`, `elrepo`, `kubernetes`, ...)
gets one RSA-2048 signing key, generated once with
`gpg --batch --quick-gen-key` in its own GNUPGHOME (no passphrase) and stored in
the cache under `keys-<builder digest>/<label>/` together with `keyid` (16 hex,
lowercase, what `rpm -qi` prints as "Key ID"), `fingerprint`, `pubkey.asc` and
`secret.gpg` (the exported secret key; the cached GNUPGHOME is never used again,
so no gpg-agent is left running on the cache).
A host records the key ids it was signed with in its own cache entry, so they
stay fixed for that entry.

Signing imports the needed secret keys into throw-away GNUPGHOMEs (one per
parallel rpmsign, so the RSA work spreads over several gpg-agents), runs
`rpmsign --addsign --rpmv3` (header signature plus header+payload signature,
RSA/SHA256, like EL7/EL8 packages) with gpg's `--faked-system-time` set to a
few hours after the package's build time, and stops every gpg-agent it started.
rpmsign exits 0 even when gpg fails, so rpms.py checks every package afterwards.
Keys are created with a faked time too (the real CentOS keys' creation dates for
`centos7`/`centos8`), so gpg-pubkey-<id>-<created> looks like on a real host.
"""

import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from .tools import ToolError, chunks, jobs, run, run_parallel, which


# Key creation times (the gpg-pubkey release): the real CentOS keys' dates for
# their labels (gpg-pubkey-f4a80eb5-53a7ff4b, gpg-pubkey-8483c65d-5ccc5b19),
# 2015-01-01 for any other label.
KEY_CREATED = {"centos7": 0x53A7FF4B, "centos8": 0x5CCC5B19}
DEFAULT_KEY_CREATED = 1420070400


@dataclass(frozen=True)
class KeyInfo:
    label: str
    keyid: str          # 16 lowercase hex digits
    fingerprint: str    # 40 uppercase hex digits
    home: Path          # cached GNUPGHOME holding the secret key
    pubkey: Path        # ASCII-armoured public key
    secret: Path        # exported secret key (imported into throw-away homes)


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
        secret=label_dir / "secret.gpg",
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
            created = KEY_CREATED.get(label, DEFAULT_KEY_CREATED)
            _gpg(home, "--passphrase", "", "--pinentry-mode", "loopback",
                 "--faked-system-time", "%d!" % created,
                 "--quick-gen-key", uid, "rsa2048", "sign", "never")
            colons = _gpg(home, "--with-colons", "--list-secret-keys").decode()
            fpr = [ln.split(":")[9] for ln in colons.splitlines() if ln.startswith("fpr:")][0]
            pub = _gpg(home, "--armor", "--export", fpr)
            secret = _gpg(home, "--export-secret-keys", fpr)
            _kill_agent(home)
            tmp = store / (".tmp-%s-%d" % (label, os.getpid()))
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            shutil.copytree(home, tmp / "gnupg",
                            ignore=shutil.ignore_patterns("S.*", "*.lock", ".#*"))
            (tmp / "pubkey.asc").write_bytes(pub)
            (tmp / "secret.gpg").write_bytes(secret)
            (tmp / "fingerprint").write_text(fpr.upper() + "\n")
            (tmp / "keyid").write_text(fpr[-16:].lower() + "\n")
            os.rename(tmp, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return _read(final)


def sign_rpms(by_label: Dict[Tuple[str, int], List[Path]], keys: Dict[str, KeyInfo]) -> None:
    """Sign rpm files: {(key label, signature time): [paths]}.

    The signature time is passed to gpg with --faked-system-time, so packages
    carry a plausible signing date instead of today's. The work is split into
    `2 * jobs()` rpmsign processes, each with its own GNUPGHOME (so its own
    gpg-agent: one agent doing all RSA operations is the bottleneck otherwise).
    """
    todo = {key: sorted(files) for key, files in by_label.items() if files}
    if not todo:
        return
    work = Path(tempfile.mkdtemp(prefix="hostbuild-sign-"))
    homes: List[Path] = []
    try:
        seed = work / "seed"
        seed.mkdir(mode=0o700)
        for label in sorted({label for label, _ in todo}):
            run([which("gpg"), "--homedir", str(seed), "--batch", "--import",
                 str(keys[label].secret)])
        _kill_agent(seed)
        argvs = []
        n = 2 * jobs()
        for (label, when), files in todo.items():
            for part in chunks(files, max(1, min(n, len(files) // 8 or 1))):
                home = work / ("g%d" % len(homes))
                shutil.copytree(seed, home, ignore=shutil.ignore_patterns("S.*", "*.lock"))
                homes.append(home)
                argvs.append([
                    which("rpmsign"), "--addsign", "--rpmv3",
                    "--define", "__gpg %s" % which("gpg"),
                    "--define", "_gpg_path %s" % home,
                    "--define", "_gpg_name %s" % keys[label].fingerprint,
                    "--define", "_gpg_digest_algo sha256",
                    "--define", "_gpg_sign_cmd_extra_args --faked-system-time %d!" % when,
                ] + [str(f) for f in part])
        for i in range(0, len(argvs), n):
            run_parallel(argvs[i:i + n])
    finally:
        for home in homes:
            _kill_agent(home)
        shutil.rmtree(work, ignore_errors=True)
