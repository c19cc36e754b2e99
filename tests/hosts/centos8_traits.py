"""centos8-traits and centos8-clean: two CentOS Linux 8.5.2111 hosts of the same build.

Both are installed by real dnf (hostbuild Transaction), so
/var/lib/dnf/history.sqlite records the repo id of every package: the base
system comes from the "anaconda" repo (as the installer records it), later
installs from repos whose ids are those of the host's .repo files.

centos8-clean is what a well-kept host looks like: the CentOS repos pointed at
vault.centos.org the way admins did after the EOL (the documented `sed` over
the stock files), kernel-devel/kernel-headers of the installed kernel, nothing
else. centos8-traits is the same build carrying one of each trait the package
and repo checks look for (TRAITS: finding id -> subjects it must produce
against opencloudos-8 with the tests/hosts/targets.py repo). Package versions
of third-party software are real published ones (tests/data/SOURCES.md).
"""

from typing import Dict, List

from . import centos8
from .common import Pkg, data, modules_dep, read_list, text, tree

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import COMMANDLINE, HostSpec, Transaction
else:
    from hostbuild import COMMANDLINE, HostSpec, Transaction

KVER = centos8.KVER                                 # 4.18.0-348.7.1.el8_5.x86_64
OLD_KERNEL = ("4.18.0", "348.el8")                  # the 8.5 GA kernel
REPO_FILES = ("BaseOS", "AppStream", "Extras")

CORE_MODULES = {"kernel/fs/xfs/xfs.ko.xz": ["kernel/lib/libcrc32c.ko.xz"], "kernel/lib/libcrc32c.ko.xz": [],
                "kernel/drivers/net/virtio_net.ko.xz": ["kernel/drivers/net/net_failover.ko.xz",
                                                        "kernel/net/core/failover.ko.xz"],
                "kernel/drivers/net/net_failover.ko.xz": ["kernel/net/core/failover.ko.xz"],
                "kernel/net/core/failover.ko.xz": []}

# finding id -> subjects on centos8-traits (opencloudos-8, tests/hosts/targets.py repo);
# none of these ids may appear on centos8-clean.
TRAITS = {
    "packages.unavailable_in_target": ("libssh-config",),
    "packages.newer_than_target": ("tzdata",),
    "packages.unsigned": ("acme-backup-agent",),
    "packages.from_unconfigured_repo": ("nginx",),
    "packages.multilib_unavailable": ("glibc.i686",),
    "packages.kernel_devel_mismatch": ("kernel-devel-4.18.0-348.el8.x86_64",),
    "packages.third_party": ("acme-backup-agent", "containerd.io", "docker-ce-cli", "htop", "nginx"),
    "repos.epel": ("epel",),
    "repos.third_party": ("docker-ce-stable",),
    "repos.custom": ("acme-internal",),
    "repos.gpgcheck_disabled": ("acme-internal",),
    "repos.centos_eol_mirror": ("appstream", "baseos", "extras"),
}


def _base_entries() -> list:
    """The small 8.5 package set of centos8-bdb (insights-core's real list plus the
    basics), without dnf-plugins-core, which the test target repo lacks on purpose."""
    small = read_list("packages/centos8.5-insights-core.txt")
    names = {e[0] for e in small} | {"filesystem", "setup", "centos-linux-release", "centos-linux-repos",
                                     "centos-gpg-keys", "kernel", "kernel-core", "kernel-modules",
                                     "openssl-libs", "openssh-server", "sudo", "tzdata"}
    names.discard("dnf-plugins-core")
    return [e for e in centos8._entries() if e[0] in names]


def _kernel_extra(version: str, release: str) -> List[Pkg]:
    """kernel-devel (installonly: headers and Makefile for building modules) and kernel-headers."""
    kver = "%s-%s.x86_64" % (version, release)
    src = "kernel-%s-%s" % (version, release)
    common = dict(source=src, license="GPLv2 and Redistributable, no modification permitted",
                  group="System Environment/Kernel",
                  buildtime=1640217600 if release == "348.7.1.el8_5" else 1634688000)
    tree_dir = "/usr/src/kernels/%s" % kver
    devel = centos8._distro(
        "kernel-devel", version, release, summary="Development package for building kernel modules to match the kernel",
        files={tree_dir + "/Makefile": "VERSION = 4\nPATCHLEVEL = 18\nSUBLEVEL = 0\n",
               tree_dir + "/Module.symvers": "0x00000000\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\n"},
        dirs=(tree_dir,), provides=("kernel-devel-uname-r = %s" % kver, "installonlypkg(kernel)"), **common)
    if release != "348.7.1.el8_5":
        return [devel]
    headers = centos8._distro(
        "kernel-headers", version, release, summary="Header files for the Linux kernel for use by glibc",
        files={"/usr/include/linux/version.h": "#define LINUX_VERSION_CODE 266752\n"}, **common)
    return [devel, headers]


def _captured(hostname: str) -> Dict[str, object]:
    """Runtime files as centos8-bdb has them (constructed, tests/data/SOURCES.md)."""
    files = {p: c for p, c in tree("captured/centos8-k8s").items()
             if p.startswith(("/proc/sys", "/etc/crypto", "/etc/selinux"))}
    files.update({
        "/etc/hostname": hostname + "\n",
        "/etc/dnf/dnf.conf": text("etc/centos8-dnf.conf"),
        "/proc/cmdline": "BOOT_IMAGE=(hd0,msdos1)/vmlinuz-%s root=/dev/mapper/cl-root ro crashkernel=auto "
                         "rhgb quiet\n" % KVER,
        "/proc/modules": "xfs 1540096 2 - Live 0xffffffffc0746000\nlibcrc32c 16384 1 xfs, Live 0xffffffffc0740000\n",
        "/lib/modules/%s/modules.dep" % KVER: modules_dep(KVER, CORE_MODULES),
        "/boot/config-%s" % KVER: data("kernel/centos8-kernel-4.18.0-348.7.1.el8_5-x86_64.config"),
    })
    files["/proc/sys/kernel/tainted"] = "0\n"
    return files


def vault_repo(stock: str) -> str:
    """A stock CentOS 8 .repo file after the post-EOL edit admins applied:
    sed -i 's/mirrorlist/#mirrorlist/g' and 's|#baseurl=http://mirror.centos.org|baseurl=http://vault.centos.org|g'."""
    out = stock.replace("mirrorlist", "#mirrorlist")
    return out.replace("#baseurl=http://mirror.centos.org", "baseurl=http://vault.centos.org")


def _spec(name: str, traits: bool) -> HostSpec:
    entries = _base_entries()
    if traits:
        entries = [e for e in entries if e[0] != "tzdata"]
        entries += [e for e in centos8._entries() if e[0] == "libssh-config"]
    pkgs = centos8.distro_pkgs(entries, dict(CORE_MODULES))
    later: List[Pkg] = []          # installed after the installation, from "baseos"
    extra: Dict[str, List[Pkg]] = {}
    if traits:
        later += _kernel_extra(*OLD_KERNEL) + [p for p in _kernel_extra("4.18.0", "348.7.1.el8_5")
                                               if p.name == "kernel-headers"]
        later.append(centos8._distro("glibc", "2.28", "164.el8", arch="i686", source="glibc-2.28-164.el8",
                                     summary="The GNU libc libraries", license="LGPLv2+ and GPLv2+",
                                     files={"/usr/lib/libc-2.28.so": "\x7fELF (test stand-in, 32-bit)\n"}))
        later += [p for p in pkgs if p.name == "libssh-config"]
        pkgs = [p for p in pkgs if p.name != "libssh-config"]
        extra[COMMANDLINE] = [centos8._distro("tzdata", "2022a", "1.el8", arch="noarch", license="Public Domain",
                                              summary="Timezone data", buildtime=1647302400,
                                              files={"/usr/share/zoneinfo/tzdata.zi": "# version 2022a\n"})]
        extra["epel"] = [Pkg(name="htop", version="3.0.5", release="1.el8", vendor="Fedora Project",
                             packager="Fedora Project", license="GPLv2+", summary="Interactive process viewer",
                             url="https://htop.dev/", sign_key="epel8", buildtime=1611878400,
                             buildhost="buildvm-x86-26.iad2.fedoraproject.org",
                             files={"/usr/bin/htop": "#!/bin/sh\n# htop (test stand-in)\n"},
                             modes={"/usr/bin/htop": "0755"})]
        extra["docker-ce-stable"] = [p for p in centos8.third_party_pkgs()
                                     if p.name in ("docker-ce-cli", "containerd.io")]
        extra["nginx-stable"] = [Pkg(name="nginx", epoch=1, version="1.20.2", release="1.el8.ngx",
                                     vendor="Nginx, Inc.", packager="Nginx Packaging <nginx-packaging@f5.com>",
                                     license="2-clause BSD-like license", url="https://nginx.org/",
                                     summary="High performance web server", sign_key="nginx",
                                     buildtime=1637020800, buildhost="centos8-amd64-builder",
                                     files={"/usr/sbin/nginx": "#!/bin/sh\n# nginx (test stand-in)\n",
                                            "/etc/nginx/nginx.conf": "user nginx;\nworker_processes auto;\n"},
                                     modes={"/usr/sbin/nginx": "0755"})]
        extra["acme-internal"] = [Pkg(name="acme-backup-agent", version="1.4.2", release="1.el8",
                                      vendor="ACME Corp", packager="ACME Build Team <build@acme.example>",
                                      license="Proprietary", summary="ACME backup agent", sign_key=None,
                                      buildtime=1640995200, buildhost="build-07.acme.example",
                                      files={"/opt/acme/backup/bin/acme-backup":
                                             "#!/bin/sh\n# acme-backup (test stand-in)\n",
                                             "/etc/acme/backup.yaml": "target: s3://backups.acme.example/\n"},
                                      modes={"/opt/acme/backup/bin/acme-backup": "0755"})]
    else:
        later += _kernel_extra("4.18.0", "348.7.1.el8_5")

    def refs(items):
        return tuple("%s.%s" % (p.name, p.arch) for p in items)

    transactions = [Transaction("anaconda", refs(pkgs)), Transaction("baseos", refs(later))]
    transactions += [Transaction(repo, refs(items)) for repo, items in extra.items()]
    files = _captured("c8-%s-01.example.internal" % ("traits" if traits else "clean"))
    if traits:
        files.update({"/etc/yum.repos.d/epel.repo": text("repos/epel8-epel.repo"),
                      "/etc/yum.repos.d/docker-ce.repo": text("repos/docker-ce.repo"),
                      "/etc/yum.repos.d/acme-internal.repo": text("repos/acme-internal.repo")})
        keys = ("centos8", "epel8", "docker", "nginx")
    else:
        for repo in REPO_FILES:
            files["/etc/yum.repos.d/CentOS-Linux-%s.repo" % repo] = vault_repo(
                text("repos/centos8-CentOS-Linux-%s.repo" % repo))
        keys = ("centos8",)
    all_pkgs = pkgs + later + [p for items in extra.values() for p in items]
    return HostSpec(name=name, packages=all_pkgs, files=files, rpmdb="sqlite", import_keys=keys,
                    buildtime=centos8.BUILDTIME, buildhost=centos8.BUILDHOST,
                    transactions=tuple(transactions), releasever="8",
                    description="CentOS Linux 8.5.2111 installed by dnf, %s" % (
                        "with one of each package/repo trait" if traits else "without the traits"))


def traits_spec() -> HostSpec:
    return _spec("centos8-traits", traits=True)


def clean_spec() -> HostSpec:
    return _spec("centos8-clean", traits=False)

