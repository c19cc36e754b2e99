#!/usr/bin/env bash
# Install migrate in .venv and assess the bundled example host (a facts file collected
# from the centos8-k8s test host: CentOS Linux 8.5 with Kubernetes, Docker CE, an ELRepo
# kmod and a DKMS module) against OpenCloudOS 8. Writes out/centos8-k8s.report.{json,html}.
# No OpenCloudOS repository metadata is bundled, so package availability is not
# assessed (--allow-incomplete; the report says so). For a full assessment add
# --target-repo with the target's mirror URLs or a `migrate manifest build` snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${1:-opencloudos-8}"

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
if ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q '^install ok installed$'; then
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
fi
[ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .

mkdir -p out
rc=0
.venv/bin/migrate assess --facts examples/centos8-k8s.facts.json --target "$TARGET" --allow-incomplete \
  -o out/centos8-k8s.report.json -o out/centos8-k8s.report.html || rc=$?
echo "reports: out/centos8-k8s.report.{json,html}; exit code $rc (0 ready, 3 blockers, 5 incomplete; see README)" >&2
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || [ "$rc" -eq 4 ]
