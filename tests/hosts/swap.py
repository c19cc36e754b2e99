"""A same-major repo swap, for the plan/executor tests: CentOS 8-like -> OpenCloudOS 8-like.

    swap_source_packages()   what the host has, and what its (source) repo serves
    swap_target_packages()   the target repo: opencloudos-release obsoleting/conflicting
                             the CentOS release packages, newer (.oc8) builds, a renamed
                             package (ocs-tool replaces centos-tool), a newer kernel
    swap_host_spec()         HostSpec installed by real dnf from the "baseos" repo
    swap_host_spec(third_party=True)   plus acme-portal (vendor Acme, from repo "acme"),
                             which requires centos-logos
    source_repo(), target_repo()   createrepo_c repositories (cached)
    target_repo(signed=True), target_pubkey()   the target packages signed with the test key
                             TARGET_KEY, and that key's public half (ASCII armour)

Pkg has no Obsoletes/Conflicts field; specfile.py writes each `provides` entry as
"Provides: %s" verbatim, so an entry "X\\nObsoletes: Y" adds an Obsoletes line.
It is a test double for the *shape* of a swap, not a statement about what
OpenCloudOS ships.
"""
import dataclasses
from pathlib import Path
from typing import List

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import HostSpec, Pkg, Transaction, build_repo
    from tests.hostbuild.cache import key_store
    from tests.hostbuild.keys import ensure_key
else:
    from hostbuild import HostSpec, Pkg, Transaction, build_repo
    from hostbuild.cache import key_store
    from hostbuild.keys import ensure_key

TARGET_KEY = "opencloudos8swap"

CENTOS_OS_RELEASE = ('NAME="CentOS Linux"\nVERSION="8"\nID="centos"\nID_LIKE="rhel fedora"\n'
                     'VERSION_ID="8"\nPLATFORM_ID="platform:el8"\nPRETTY_NAME="CentOS Linux 8"\n')
OC_OS_RELEASE = ('NAME="OpenCloudOS"\nVERSION="8.6"\nID="opencloudos"\nID_LIKE="rhel fedora"\n'
                 'VERSION_ID="8.6"\nPLATFORM_ID="platform:oc8"\nPRETTY_NAME="OpenCloudOS 8.6"\n')
CENTOS_REPO_FILE = ("[baseos]\nname=CentOS Linux $releasever - BaseOS\n"
                    "mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=BaseOS\n"
                    "gpgcheck=1\nenabled=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial\n")

_C = dict(vendor="CentOS", packager="CentOS Buildsys <bugs@centos.org>")
_O = dict(vendor="OpenCloudOS", packager="OpenCloudOS Buildsys")
SRC_KERNEL = "4.18.0-348.7.1.el8_5.x86_64"
TGT_KERNEL = "5.4.119-19.0010.oc8.x86_64"


def swap_source_packages() -> List[Pkg]:
    return [
        Pkg("centos-gpg-keys", "8", "3.el8", arch="noarch", noconfig=("/etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial",),
            files={"/etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial": "-----BEGIN PGP PUBLIC KEY BLOCK-----\ncentos\n"},
            **_C),
        Pkg("centos-linux-repos", "8", "3.el8", arch="noarch",
            files={"/etc/yum.repos.d/CentOS-Linux-BaseOS.repo": CENTOS_REPO_FILE},
            requires=("centos-gpg-keys",), **_C),
        Pkg("centos-linux-release", "8.5", "1.2111.el8", arch="noarch",
            files={"/etc/centos-release": "CentOS Linux release 8.5.2111\n", "/etc/os-release": CENTOS_OS_RELEASE,
                   "/etc/redhat-release": "CentOS Linux release 8.5.2111\n"},
            noconfig=("/etc/os-release", "/etc/centos-release", "/etc/redhat-release"),
            provides=("system-release", "system-release(releasever) = 8", "redhat-release = 8.5"),
            requires=("centos-linux-repos",), **_C),
        Pkg("centos-logos", "85.8", "2.el8", files={"/usr/share/pixmaps/system-logo-white.png": "centos logo\n"}, **_C),
        Pkg("bash", "4.4.20", "2.el8", files={"/usr/bin/bash": "#!bash stand-in el8\n"}, **_C),
        Pkg("tzdata", "2021e", "1.el8", arch="noarch", files={"/usr/share/zoneinfo/tzdata.zi": "# 2021e\n"}, **_C),
        Pkg("centos-tool", "1.0", "1.el8", files={"/usr/bin/centos-tool": "#!tool el8\n"}, **_C),
        Pkg("kernel", "4.18.0", "348.7.1.el8_5",
            files={"/lib/modules/%s/modules.dep" % SRC_KERNEL: "\n",
                   "/boot/vmlinuz-%s" % SRC_KERNEL: "vmlinuz el8\n"}, **_C),
    ]


def swap_target_packages() -> List[Pkg]:
    return [
        Pkg("opencloudos-release", "8.6", "1.oc8", arch="noarch",
            files={"/etc/opencloudos-release": "OpenCloudOS release 8.6\n", "/etc/os-release": OC_OS_RELEASE,
                   "/etc/redhat-release": "OpenCloudOS release 8.6\n",
                   "/etc/yum.repos.d/OpenCloudOS.repo": "# OpenCloudOS repositories (test stand-in)\n",
                   "/etc/pki/rpm-gpg/RPM-GPG-KEY-OpenCloudOS": "-----BEGIN PGP PUBLIC KEY BLOCK-----\noc\n"},
            noconfig=("/etc/os-release", "/etc/opencloudos-release", "/etc/redhat-release",
                      "/etc/pki/rpm-gpg/RPM-GPG-KEY-OpenCloudOS"),
            provides=("system-release", "system-release(releasever) = 8",
                      "redhat-release = 8.6\nObsoletes: centos-linux-release < 9\nConflicts: centos-linux-release"
                      "\nObsoletes: centos-linux-repos < 9\nObsoletes: centos-gpg-keys < 9"), **_O),
        Pkg("bash", "4.4.20", "2.oc8", files={"/usr/bin/bash": "#!bash stand-in oc8\n"}, **_O),
        Pkg("tzdata", "2022a", "1.oc8", arch="noarch", files={"/usr/share/zoneinfo/tzdata.zi": "# 2022a\n"}, **_O),
        Pkg("ocs-tool", "1.1", "1.oc8", files={"/usr/bin/ocs-tool": "#!tool oc8\n"},
            provides=("centos-tool = 1.1\nObsoletes: centos-tool < 2",), **_O),
        Pkg("kernel", "5.4.119", "19.0010.oc8",
            files={"/lib/modules/%s/modules.dep" % TGT_KERNEL: "\n",
                   "/boot/vmlinuz-%s" % TGT_KERNEL: "vmlinuz oc8\n"}, **_O),
    ]


def third_party_packages() -> List[Pkg]:
    """A vendor package that needs the CentOS logos (as httpd needs system-logos-httpd)."""
    return [Pkg("acme-portal", "2.0", "1", files={"/usr/bin/acme-portal": "#!acme\n"},
                requires=("centos-logos",), vendor="Acme Corp", packager="Acme Build")]


def swap_host_spec(third_party: bool = False) -> HostSpec:
    pkgs = swap_source_packages()
    transactions = [Transaction("baseos", tuple(p.name for p in pkgs))]
    if third_party:
        extra = third_party_packages()
        pkgs = pkgs + extra
        transactions.append(Transaction("acme", tuple(p.name for p in extra)))
    return HostSpec(name="centos8-swap" + ("-acme" if third_party else ""), packages=pkgs, releasever="8",
                    transactions=tuple(transactions),
                    files={"/etc/hostname": "swap-test\n",
                           "/etc/default/grub": 'GRUB_DEFAULT=saved\nGRUB_TIMEOUT=5\n',
                           "/etc/dnf/modules.d/nodejs.module": "[nodejs]\nname=nodejs\nstream=10\n"
                                                               "profiles=\nstate=enabled\n"})


def source_repo() -> Path:
    return build_repo(swap_source_packages(), name="centos8-swap-source")


def target_repo(signed: bool = False) -> Path:
    if signed:
        pkgs = [dataclasses.replace(p, sign_key=TARGET_KEY) for p in swap_target_packages()]
        return build_repo(pkgs, name="opencloudos8-swap-target-signed")
    return build_repo(swap_target_packages(), name="opencloudos8-swap-target")


def target_pubkey() -> Path:
    return ensure_key(key_store(), TARGET_KEY).pubkey
