"""Target repositories for tests, built for real (rpmbuild + createrepo_c).

No real OpenCloudOS repodata is available offline, so `opencloudos8-test` is
derived from the centos8-k8s host: its CentOS 8.5 packages rebuilt with `.oc8`
releases and vendor OpenCloudOS, without the CentOS release packages (the swap
replaces them) and without DROPPED (so that unavailable packages can be found),
plus an `opencloudos-release`. It is a test double for a target repository's
*shape*, not a statement about what OpenCloudOS ships.
"""
import dataclasses
from pathlib import Path
from typing import List

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import Pkg, build_repo, host_spec
else:
    from hostbuild import Pkg, build_repo, host_spec

# Installed on centos8-k8s, deliberately missing from the test target repo.
DROPPED = ("dnf-plugins-core", "libssh-config")


def opencloudos8_packages() -> List[Pkg]:
    out = []
    for pkg in host_spec("centos8-k8s").packages:
        if pkg.vendor != "CentOS" or pkg.name.startswith("centos-") or pkg.name in DROPPED:
            continue
        out.append(dataclasses.replace(
            pkg, release=pkg.release.replace("el8", "oc8"), vendor="OpenCloudOS",
            packager="OpenCloudOS Buildsys", sign_key=None,
            source=pkg.source.replace("el8", "oc8") if pkg.source else None))
    out.append(Pkg(name="opencloudos-release", version="8.6", release="1.oc8", arch="x86_64",
                   vendor="OpenCloudOS", packager="OpenCloudOS Buildsys",
                   files={"/etc/opencloudos-release": "OpenCloudOS release 8.6\n"},
                   provides=("system-release", "system-release(releasever) = 8")))
    return out


def opencloudos8_repo() -> Path:
    return build_repo(opencloudos8_packages(), name="opencloudos8-test")
