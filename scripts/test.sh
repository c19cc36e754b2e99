#!/usr/bin/env bash
# Install everything the test suite needs on Debian 12 (apt packages, a venv,
# Python dependencies) and run the whole suite. `.ci/run` calls exactly this.
# Extra arguments go to pytest (e.g. `scripts/test.sh -k collector`).
set -euo pipefail
cd "$(dirname "$0")/.."

# rpm/rpmbuild/rpmsign, python3-rpm bindings, createrepo_c: real rpmdbs and repos
# for the test hosts; db5.3-util: db_load writes the Berkeley DB rpmdb of the
# bdb test host; gnupg: signing test packages; util-linux: setpriv for the
# unprivileged-collector test; dnf: `dnf repoquery`/`makecache` as the oracle for repodata
# and the installer of the dnf-built test hosts; openssl: SM2 certificates and signatures;
# chromium (+ a font): the HTML reports are checked in a real headless browser;
# openssh-server/-client: the fleet tests scan real sshd hosts on loopback; sudo: the executor's
# --become path (agent under `sudo -n`, file operations through it instead of SFTP).
APT_PACKAGES=(python3 python3-venv python3-rpm rpm createrepo-c db5.3-util gnupg util-linux dnf
              openssl chromium fonts-dejavu-core openssh-server openssh-client sudo)
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's own python3: python3-rpm is built for it (the PyPI `rpm` shim finds it).
if [ "$(.venv/bin/python -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" != /usr ]; then
  /usr/bin/python3 -m venv --clear .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# The rpm bindings come from Debian's python3-rpm, linked in as they sit on a real
# EL host (the PyPI `rpm` shim would spawn a subprocess on every import: +60 ms).
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ln -sfn /usr/lib/python3/dist-packages/rpm "$site/rpm"
.venv/bin/python -c 'import rpm' || { echo "rpm bindings do not import in .venv" >&2; exit 1; }

exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
