"""Target repositories for tests, built for real (rpmbuild + createrepo_c).

No real OpenCloudOS repodata is available offline, so `opencloudos8-test` is
derived from the centos8-k8s and centos8-clean hosts: their CentOS 8.5
packages (x86_64 and noarch only, as the hosts have them; a package on both
counts once) rebuilt with `.oc8` releases and vendor OpenCloudOS, without the
CentOS release packages (the swap replaces them) and without DROPPED (so that
unavailable packages can be found), plus an `opencloudos-release`. It fits
centos8-traits too: that host's traits are exactly what it lacks (DROPPED, an
i686 glibc, the newer tzdata: see hosts/centos8_traits.py). It is a test
double for a target repository's *shape*, not a statement about what
OpenCloudOS ships.
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
    seen = set()
    for pkg in host_spec("centos8-k8s").packages + host_spec("centos8-clean").packages:
        if pkg.vendor != "CentOS" or pkg.name.startswith("centos-") or pkg.name in DROPPED \
                or (pkg.name, pkg.arch) in seen:
            continue
        seen.add((pkg.name, pkg.arch))
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
