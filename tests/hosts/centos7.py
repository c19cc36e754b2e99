"""centos7-minimal: a CentOS Linux 7.9.2009 host.

Packages: the real `rpm -qa` of the centos:7 (7.9.2009) image plus the extra
packages of a real 7.9 host from insights-core's test data (tests/data/SOURCES.md),
with centos-release updated to 7-9.2009.1 and the last CentOS 7 kernel
(3.10.0-1160.119.1.el7) added. All signed with the `centos7` test key.
"""

from .common import (Pkg, Symlink, data, fake_module, filesystem_files, merge_lists,
                     modules_dep, packages_from, read_list, text, tree)

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import HostSpec
else:
    from hostbuild import HostSpec

VENDOR = "CentOS"
PACKAGER = "CentOS BuildSystem <http://bugs.centos.org>"
KEY = "centos7"
KVER = "3.10.0-1160.119.1.el7.x86_64"
VERMAGIC = "3.10.0-1160.119.1.el7.x86_64"
BUILDHOST = "x86-02.bsys.centos.org"

# `rpm -qa` (the source lists) prints no epochs; these are the epochs the EL7
# packages carry (see tests/data/SOURCES.md).
EPOCHS = {"bind-license": 32, "dbus": 1, "dbus-libs": 1, "device-mapper": 7,
          "device-mapper-libs": 7, "dmidecode": 1, "emacs-filesystem": 1, "findutils": 1,
          "gmp": 1, "hardlink": 1, "openssl-libs": 1, "pkgconfig": 1, "shadow-utils": 2,
          "tar": 2, "vim-filesystem": 2, "vim-minimal": 2}

# real 3.10 module paths -> their dependencies (as modules.dep lists them)
MODULES = {
    "kernel/drivers/net/virtio_net.ko.xz": ["kernel/drivers/virtio/virtio_ring.ko.xz",
                                            "kernel/drivers/virtio/virtio.ko.xz"],
    "kernel/drivers/block/virtio_blk.ko.xz": ["kernel/drivers/virtio/virtio_ring.ko.xz",
                                              "kernel/drivers/virtio/virtio.ko.xz"],
    "kernel/drivers/virtio/virtio_pci.ko.xz": ["kernel/drivers/virtio/virtio_ring.ko.xz",
                                               "kernel/drivers/virtio/virtio.ko.xz"],
    "kernel/drivers/virtio/virtio_ring.ko.xz": [],
    "kernel/drivers/virtio/virtio.ko.xz": [],
    "kernel/fs/xfs/xfs.ko.xz": ["kernel/lib/libcrc32c.ko.xz"],
    "kernel/lib/libcrc32c.ko.xz": [],
    "kernel/net/netfilter/nf_conntrack.ko.xz": ["kernel/lib/libcrc32c.ko.xz"],
    "kernel/net/netfilter/xt_conntrack.ko.xz": ["kernel/net/netfilter/nf_conntrack.ko.xz",
                                                "kernel/lib/libcrc32c.ko.xz"],
    "kernel/net/ipv4/netfilter/nf_conntrack_ipv4.ko.xz": [
        "kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz", "kernel/net/netfilter/nf_conntrack.ko.xz",
        "kernel/lib/libcrc32c.ko.xz"],
    "kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz": [],
    "kernel/net/ipv4/netfilter/ip_tables.ko.xz": [],
    "kernel/net/ipv4/netfilter/iptable_filter.ko.xz": ["kernel/net/ipv4/netfilter/ip_tables.ko.xz"],
    "kernel/drivers/ata/ata_piix.ko.xz": ["kernel/drivers/ata/libata.ko.xz"],
    "kernel/drivers/ata/libata.ko.xz": [],
    "kernel/arch/x86/crypto/crc32c-intel.ko.xz": [],
    "kernel/drivers/md/dm-mod.ko.xz": [],
}


def _modname(path: str) -> str:
    return path.rsplit("/", 1)[1].split(".ko")[0].replace("-", "_")


def kernel_pkg() -> Pkg:
    mdir = "/lib/modules/%s" % KVER
    files = {
        "/boot/config-%s" % KVER: data("kernel/centos7-kernel-3.10.0-1160.119.1.el7-x86_64.config"),
        "/boot/vmlinuz-%s" % KVER: b"\x4d\x5a" + b"\0" * 510 + b"HdrS fake bzImage 3.10.0-1160.119.1.el7\n",
        "/boot/System.map-%s" % KVER: "ffffffff81000000 T _stext\nffffffff81000000 T _text\n",
        "/boot/symvers-%s.gz" % KVER: b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        mdir + "/modules.order": "".join(m.replace(".xz", "") + "\n" for m in sorted(MODULES)),
        mdir + "/modules.builtin": "kernel/crypto/sha256_generic.ko\nkernel/crypto/aes_generic.ko\n",
    }
    for path in MODULES:
        files["%s/%s" % (mdir, path)] = fake_module(_modname(path), VERMAGIC)
    return Pkg(name="kernel", version="3.10.0", release="1160.119.1.el7", vendor=VENDOR,
               packager=PACKAGER, license="GPLv2", group="System Environment/Kernel",
               summary="The Linux kernel", files=files,
               dirs=(mdir, mdir + "/kernel"), modes={"/boot/vmlinuz-%s" % KVER: "0755"},
               provides=("kernel-x86_64 = 3.10.0-1160.119.1.el7", "kernel-drm = 4.3.0",
                         "kernel-uname-r = %s" % KVER),
               sign_key=KEY, buildtime=1718755200)       # 2024-06-19


def release_pkg() -> Pkg:
    return Pkg(
        name="centos-release", version="7", release="9.2009.1.el7.centos", vendor=VENDOR,
        packager=PACKAGER, license="GPLv2", group="System Environment/Base",
        summary="CentOS Linux release file",
        files={
            "/etc/os-release": text("release/centos7.os-release"),
            "/etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n",
            "/etc/centos-release-upstream": "Derived from Red Hat Enterprise Linux 7.9 (Source)\n",
            "/etc/redhat-release": Symlink("centos-release"),
            "/etc/system-release": Symlink("centos-release"),
            "/etc/system-release-cpe": "cpe:/o:centos:centos:7\n",
            "/etc/issue": "\\S\nKernel \\r on an \\m\n\n",
            "/etc/yum.repos.d/CentOS-Base.repo": text("repos/centos7-CentOS-Base.repo"),
            "/etc/rpm/macros.dist": "# dist macros.\n\n%rhel 7\n%centos 7\n%centos_ver 7\n%dist .el7.centos\n%el7 1\n",
        },
        noconfig=("/etc/os-release", "/etc/centos-release", "/etc/system-release-cpe",
                  "/etc/centos-release-upstream", "/etc/rpm/macros.dist"),
        provides=("centos-release(upstream) = 7.9", "redhat-release = 7.9",
                  "system-release = 7.9", "system-release(releasever) = 7"),
        sign_key=KEY, buildtime=1605571200)     # 2020-11-17


def spec() -> HostSpec:
    entries = merge_lists(read_list("packages/centos7.9-docker-centos7.tsv"),
                          read_list("packages/centos7.9-insights-core.txt"))
    entries = [(n, EPOCHS.get(n, e), v, r, a, lic, src) for n, e, v, r, a, lic, src in entries]
    pkgs = packages_from(entries, 7, VENDOR, PACKAGER, KEY,
                         skip=("centos-release", "filesystem"))
    fs = [e for e in entries if e[0] == "filesystem"][0]
    pkgs.append(Pkg(name="filesystem", version=fs[2], release=fs[3], vendor=VENDOR,
                    packager=PACKAGER, license="Public Domain", summary="The basic directory layout",
                    files=filesystem_files(), dirs=("/etc", "/usr/bin", "/usr/lib", "/usr/lib64",
                                                    "/usr/sbin", "/var/lib", "/boot", "/root"),
                    sign_key=KEY))
    pkgs += [release_pkg(), kernel_pkg()]
    files = tree("captured/centos7-minimal")
    files["/lib/modules/%s/modules.dep" % KVER] = modules_dep(KVER, MODULES)
    return HostSpec(name="centos7-minimal", packages=pkgs, files=files, rpmdb="sqlite",
                    import_keys=(KEY,), buildtime=1600000000, buildhost=BUILDHOST,
                    description="CentOS Linux 7.9.2009 minimal host, kernel 3.10.0-1160.119.1.el7")
