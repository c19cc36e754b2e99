"""centos8-k8s and centos8-bdb: CentOS Linux 8.5.2111 hosts.

Distro packages come from a real 8.2 -> 8.5 `dnf upgrade` transaction (every
package it upgraded or installed, i.e. a minimal 8.5 system) merged with the
real 8.5 list in insights-core's test data (tests/data/SOURCES.md), signed with
the `centos8` test key. centos8-k8s adds a Kubernetes node's third-party stack
(Docker CE, Kubernetes, an unsigned in-house agent, an ELRepo kmod with a
weak-updates link, a DKMS-built ZFS module); centos8-bdb is a small host whose
rpmdb is Berkeley DB like a real EL8 host.
"""

from typing import Dict, List

from .common import (Pkg, Symlink, data, fake_module, filesystem_files, merge_lists,
                     modules_dep, packages_from, read_list, text, tree)

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import HostSpec
else:
    from hostbuild import HostSpec

VENDOR = "CentOS"
PACKAGER = "CentOS Buildsys <bugs@centos.org>"
KEY = "centos8"
KVER = "4.18.0-348.7.1.el8_5.x86_64"
OLD_KVER = "4.18.0-348.el8.x86_64"       # kernel the ELRepo kmod was built for
BUILDHOST = "x86-02.mbox.centos.org"
BUILDTIME = 1636502400                   # 2021-11-10

KERNEL_MODULES = {       # real in-tree 4.18.0-348 module paths -> modules.dep deps
    "kernel/net/bridge/br_netfilter.ko.xz": ["kernel/net/bridge/bridge.ko.xz",
                                             "kernel/net/802/stp.ko.xz", "kernel/net/llc/llc.ko.xz"],
    "kernel/net/bridge/bridge.ko.xz": ["kernel/net/802/stp.ko.xz", "kernel/net/llc/llc.ko.xz"],
    "kernel/net/802/stp.ko.xz": ["kernel/net/llc/llc.ko.xz"],
    "kernel/net/llc/llc.ko.xz": [],
    "kernel/fs/overlayfs/overlay.ko.xz": [],
    "kernel/net/netfilter/ipvs/ip_vs.ko.xz": ["kernel/net/netfilter/nf_conntrack.ko.xz",
                                              "kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz",
                                              "kernel/lib/libcrc32c.ko.xz"],
    "kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz": ["kernel/net/netfilter/ipvs/ip_vs.ko.xz"],
    "kernel/net/netfilter/ipvs/ip_vs_wrr.ko.xz": ["kernel/net/netfilter/ipvs/ip_vs.ko.xz"],
    "kernel/net/netfilter/ipvs/ip_vs_sh.ko.xz": ["kernel/net/netfilter/ipvs/ip_vs.ko.xz"],
    "kernel/net/netfilter/nf_conntrack.ko.xz": ["kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz",
                                                "kernel/lib/libcrc32c.ko.xz"],
    "kernel/net/ipv4/netfilter/nf_conntrack_ipv4.ko.xz": [
        "kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz", "kernel/net/netfilter/nf_conntrack.ko.xz"],
    "kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz": [],
    "kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz": [],
    "kernel/net/netfilter/nf_nat.ko.xz": ["kernel/net/netfilter/nf_conntrack.ko.xz"],
    "kernel/net/ipv4/netfilter/nf_nat_ipv4.ko.xz": ["kernel/net/netfilter/nf_nat.ko.xz"],
    "kernel/net/ipv4/netfilter/ipt_MASQUERADE.ko.xz": ["kernel/net/ipv4/netfilter/nf_nat_ipv4.ko.xz"],
    "kernel/net/ipv4/netfilter/iptable_nat.ko.xz": ["kernel/net/ipv4/netfilter/nf_nat_ipv4.ko.xz",
                                                    "kernel/net/ipv4/netfilter/ip_tables.ko.xz"],
    "kernel/net/ipv4/netfilter/iptable_filter.ko.xz": ["kernel/net/ipv4/netfilter/ip_tables.ko.xz"],
    "kernel/net/ipv4/netfilter/ip_tables.ko.xz": [],
    "kernel/net/netfilter/xt_conntrack.ko.xz": ["kernel/net/netfilter/nf_conntrack.ko.xz"],
    "kernel/net/netfilter/xt_addrtype.ko.xz": [],
    "kernel/drivers/net/vxlan.ko.xz": ["kernel/net/ipv4/udp_tunnel.ko.xz",
                                       "kernel/net/ipv6/ip6_udp_tunnel.ko.xz"],
    "kernel/drivers/net/veth.ko.xz": [],
    "kernel/net/ipv4/udp_tunnel.ko.xz": [],
    "kernel/net/ipv6/ip6_udp_tunnel.ko.xz": [],
    "kernel/lib/libcrc32c.ko.xz": [],
    "kernel/fs/xfs/xfs.ko.xz": ["kernel/lib/libcrc32c.ko.xz"],
    "kernel/drivers/net/virtio_net.ko.xz": ["kernel/drivers/net/net_failover.ko.xz",
                                            "kernel/net/core/failover.ko.xz"],
    "kernel/drivers/net/net_failover.ko.xz": ["kernel/net/core/failover.ko.xz"],
    "kernel/net/core/failover.ko.xz": [],
    "kernel/drivers/block/virtio_blk.ko.xz": [],
    "kernel/arch/x86/crypto/crc32c-intel.ko.xz": [],
}

DKMS_CONF = """PACKAGE_NAME="zfs"
PACKAGE_VERSION="2.1.5"
PRE_BUILD="configure --prefix=/usr --with-config=kernel --with-linux=$kernel_source_dir --with-linux-obj=$kernel_source_dir"
AUTOINSTALL="yes"
REMAKE_INITRD="no"
MAKE[0]="make"
STRIP[0]="yes"
BUILT_MODULE_NAME[0]="zfs"
BUILT_MODULE_LOCATION[0]="module/zfs/"
DEST_MODULE_LOCATION[0]="/extra"
"""


def _modname(path: str) -> str:
    return path.rsplit("/", 1)[1].split(".ko")[0].replace("-", "_")


def _distro(name, version, release, arch="x86_64", epoch=None, files=None, **kw) -> Pkg:
    kw.setdefault("summary", "%s package" % name)
    return Pkg(name=name, epoch=epoch, version=version, release=release, arch=arch,
               vendor=VENDOR, packager=PACKAGER, files=files or {}, sign_key=KEY,
               buildtime=kw.pop("buildtime", None), **kw)


def kernel_pkgs(modules: Dict[str, List[str]]) -> List[Pkg]:
    mdir = "/lib/modules/%s" % KVER
    files = {
        mdir + "/config": data("kernel/centos8-kernel-4.18.0-348.7.1.el8_5-x86_64.config"),
        mdir + "/vmlinuz": b"\x4d\x5a" + b"\0" * 510 + b"HdrS fake bzImage 4.18.0-348.7.1.el8_5\n",
        mdir + "/System.map": "ffffffff81000000 T _stext\nffffffff81000000 T _text\n",
        mdir + "/symvers.gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        mdir + "/modules.order": "".join(m.replace(".xz", "") + "\n" for m in sorted(modules)),
        mdir + "/modules.builtin": "kernel/crypto/sha256_generic.ko\nkernel/crypto/aes_generic.ko\n",
    }
    for path in modules:
        files["%s/%s" % (mdir, path)] = fake_module(_modname(path), KVER)
    src = "kernel-4.18.0-348.7.1.el8_5"
    common = dict(source=src, license="GPLv2 and Redistributable, no modification permitted",
                  group="System Environment/Kernel", buildtime=1640217600)   # 2021-12-23
    ghosts = tuple("/boot/%s-%s" % (f, KVER) for f in ("config", "vmlinuz", "System.map", "symvers"))
    return [
        _distro("kernel", "4.18.0", "348.7.1.el8_5", summary="The Linux kernel", **common),
        _distro("kernel-core", "4.18.0", "348.7.1.el8_5", files=files, summary="The Linux kernel",
                dirs=(mdir, mdir + "/kernel", mdir + "/extra", mdir + "/updates",
                      mdir + "/weak-updates"),
                ghosts=ghosts[:3] + ("/boot/initramfs-%s.img" % KVER,),
                modes={"/boot/vmlinuz-%s" % KVER: "0755", "/boot/initramfs-%s.img" % KVER: "0600"},
                provides=("kernel-uname-r = %s" % KVER, "kernel-x86_64 = 4.18.0-348.7.1.el8_5"),
                **common),
        _distro("kernel-modules", "4.18.0", "348.7.1.el8_5", summary="kernel modules",
                files={mdir + "/kernel/drivers/net/team/team.ko.xz": fake_module("team", KVER)},
                **common),
    ]


def release_pkgs() -> List[Pkg]:
    repos = {"/etc/yum.repos.d/CentOS-Linux-%s.repo" % r: text("repos/centos8-CentOS-Linux-%s.repo" % r)
             for r in ("BaseOS", "AppStream", "Extras")}
    return [
        _distro("centos-linux-release", "8.5", "1.2111.el8", arch="noarch",
                summary="CentOS Linux release files", license="GPLv2", buildtime=1636416000,
                files={
                    "/usr/lib/os-release": text("release/centos8.os-release"),
                    "/etc/os-release": Symlink("../usr/lib/os-release"),
                    "/etc/centos-release": "CentOS Linux release 8.5.2111\n",
                    "/etc/redhat-release": Symlink("centos-release"),
                    "/etc/system-release": Symlink("centos-release"),
                    "/etc/system-release-cpe": "cpe:/o:centos:centos:8\n",
                    "/etc/issue": "\\S\nKernel \\r on an \\m\n\n",
                    "/usr/lib/systemd/system-preset/85-display-manager.preset": "enable gdm.service\n",
                },
                noconfig=("/etc/centos-release", "/etc/system-release-cpe"),
                provides=("centos-release = 8.5-1.2111.el8", "redhat-release = 8.5-1.2111.el8",
                          "system-release = 8.5-1.2111.el8", "system-release(releasever) = 8",
                          "base-module(platform:el8)")),
        _distro("centos-linux-repos", "8", "3.el8", arch="noarch", files=repos, license="GPLv2",
                summary="CentOS Linux package repositories", buildtime=1636416000),
        _distro("centos-gpg-keys", "8", "3.el8", arch="noarch", epoch=1, license="GPLv2",
                summary="CentOS RPM keys", source="centos-linux-repos-8-3.el8", buildtime=1636416000,
                files={"/etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial":
                       "-----BEGIN PGP PUBLIC KEY BLOCK-----\n(placeholder: test builds use "
                       "generated keys)\n-----END PGP PUBLIC KEY BLOCK-----\n"}),
    ]


def distro_pkgs(entries, modules) -> List[Pkg]:
    skip = {"centos-linux-release", "centos-linux-repos", "centos-gpg-keys", "filesystem",
            "kernel", "kernel-core", "kernel-modules"}
    pkgs = packages_from(entries, 8, VENDOR, PACKAGER, KEY, skip=skip)
    fs = [e for e in entries if e[0] == "filesystem"][0]
    pkgs.append(_distro("filesystem", fs[2], fs[3], license="Public Domain",
                        summary="The basic directory layout", files=filesystem_files(),
                        dirs=("/etc", "/usr/bin", "/usr/lib", "/usr/lib64", "/usr/sbin", "/var/lib",
                              "/boot", "/root", "/opt")))
    return pkgs + release_pkgs() + kernel_pkgs(modules)


def _bin(path: str, text_: str) -> Dict[str, str]:
    return {path: "#!/bin/sh\n# %s (test stand-in)\n" % text_}


def third_party_pkgs() -> List[Pkg]:
    docker = dict(vendor="Docker", packager="Docker <support@docker.com>", sign_key="docker",
                  license="ASL 2.0", buildtime=1639008000, buildhost="ip-172-31-0-10")
    kube = dict(vendor="", packager="", sign_key="kubernetes", license="ASL 2.0",
                buildtime=1637193600, buildhost="b2b9a77f3f9c")
    elrepo = dict(vendor="The ELRepo Project (http://elrepo.org)",
                  packager="Akemi Yagi <toracat@elrepo.org>", sign_key="elrepo",
                  license="GPLv2", buildtime=1639440000, buildhost="Build64R8")
    wg_ko = "/lib/modules/%s/extra/wireguard/wireguard.ko" % OLD_KVER
    return [
        Pkg(name="docker-ce", epoch=3, version="20.10.12", release="3.el8",
            summary="The open-source application container engine",
            files=dict(_bin("/usr/bin/dockerd", "dockerd"),
                       **{"/usr/lib/systemd/system/docker.service": "[Unit]\nDescription=Docker Application Container Engine\n"}),
            modes={"/usr/bin/dockerd": "0755"}, url="https://www.docker.com", **docker),
        Pkg(name="docker-ce-cli", epoch=1, version="20.10.12", release="3.el8",
            summary="The open-source application container engine",
            files=_bin("/usr/bin/docker", "docker"), modes={"/usr/bin/docker": "0755"},
            url="https://www.docker.com", **docker),
        Pkg(name="docker-ce-rootless-extras", version="20.10.12", release="3.el8",
            summary="Rootless support for Docker",
            files=_bin("/usr/bin/dockerd-rootless.sh", "dockerd-rootless"),
            modes={"/usr/bin/dockerd-rootless.sh": "0755"}, **docker),
        Pkg(name="containerd.io", version="1.4.12", release="3.1.el8",
            summary="An industry-standard container runtime",
            files=dict(_bin("/usr/bin/containerd", "containerd"),
                       **{"/etc/containerd/config.toml": "disabled_plugins = [\"cri\"]\n",
                          "/usr/lib/systemd/system/containerd.service": "[Unit]\nDescription=containerd container runtime\n"}),
            modes={"/usr/bin/containerd": "0755"}, provides=("docker-runc", "runc"),
            url="https://containerd.io", **docker),
        _distro("container-selinux", "2.167.0", "1.module_el8.5.0+911+f19012f9", arch="noarch",
                epoch=2, summary="SELinux policies for container runtimes", license="GPLv2",
                files={"/usr/share/selinux/packages/container.pp.bz2": b"BZh91AY&SY fake policy"}),
        Pkg(name="kubelet", version="1.22.4", release="0", summary="Container cluster management",
            files=dict(_bin("/usr/bin/kubelet", "kubelet"),
                       **{"/etc/sysconfig/kubelet": "KUBELET_EXTRA_ARGS=\n",
                          "/usr/lib/systemd/system/kubelet.service": "[Unit]\nDescription=kubelet: The Kubernetes Node Agent\n"}),
            modes={"/usr/bin/kubelet": "0755"}, url="https://kubernetes.io", **kube),
        Pkg(name="kubeadm", version="1.22.4", release="0",
            summary="Command-line utility for administering a Kubernetes cluster.",
            files=dict(_bin("/usr/bin/kubeadm", "kubeadm"),
                       **{"/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": "[Service]\n"}),
            modes={"/usr/bin/kubeadm": "0755"}, url="https://kubernetes.io", **kube),
        Pkg(name="kubectl", version="1.22.4", release="0",
            summary="Command-line utility for interacting with a Kubernetes cluster.",
            files=_bin("/usr/bin/kubectl", "kubectl"), modes={"/usr/bin/kubectl": "0755"},
            url="https://kubernetes.io", **kube),
        Pkg(name="cri-tools", version="1.19.0", release="0",
            summary="Command-line utility for interacting with a container runtime.",
            files=_bin("/usr/bin/crictl", "crictl"), modes={"/usr/bin/crictl": "0755"},
            url="https://kubernetes.io", **kube),
        Pkg(name="kubernetes-cni", version="0.8.7", release="0",
            summary="Binaries required to provision kubernetes container networking",
            files=dict(_bin("/opt/cni/bin/bridge", "cni bridge"), **_bin("/opt/cni/bin/loopback", "cni loopback")),
            modes={"/opt/cni/bin/bridge": "0755", "/opt/cni/bin/loopback": "0755"},
            url="https://kubernetes.io", **kube),
        Pkg(name="acme-agent", version="2.3.1", release="1.el8", vendor="ACME Corp",
            packager="ACME Build Team <build@acme.example>", license="Proprietary",
            summary="ACME monitoring agent", sign_key=None, buildhost="build-07.acme.example",
            buildtime=1633046400,
            files=dict(_bin("/opt/acme/agent/bin/acme-agent", "acme-agent"),
                       **{"/etc/acme/agent.yaml": "server: https://monitor.acme.example\ninterval: 60\n",
                          "/usr/lib/systemd/system/acme-agent.service": "[Unit]\nDescription=ACME agent\n"}),
            modes={"/opt/acme/agent/bin/acme-agent": "0755"}),
        Pkg(name="kmod-wireguard", version="1.0.20211208", release="1.el8_5.elrepo",
            summary="wireguard kernel module(s)", group="System Environment/Kernel",
            files={wg_ko: fake_module("wireguard", OLD_KVER, xz=False, license="GPL v2",
                                      version="1.0.20211208"),
                   "/etc/depmod.d/kmod-wireguard.conf": "override wireguard * weak-updates/wireguard\n"},
            dirs=("/lib/modules/%s/extra/wireguard" % OLD_KVER,), modes={wg_ko: "0744"},
            provides=("kernel-modules = %s" % OLD_KVER.rsplit(".", 1)[0], "wireguard-kmod = 1.0.20211208"),
            url="https://www.wireguard.com/", **elrepo),
        Pkg(name="zfs-dkms", version="2.1.5", release="1.el8", arch="noarch", vendor="",
            packager="", license="CDDL", summary="Kernel module(s) (dkms)", sign_key="zfsonlinux",
            buildtime=1656633600, buildhost="zfs-el8-builder", url="https://github.com/openzfs/zfs",
            files={"/usr/src/zfs-2.1.5/dkms.conf": DKMS_CONF,
                   "/usr/src/zfs-2.1.5/META": "Meta:         1\nName:         zfs\nBranch:       1.0\nVersion:      2.1.5\nRelease:      1\n"},
            dirs=("/usr/src/zfs-2.1.5",)),
    ]


def _entries():
    return merge_lists(read_list("packages/centos8.5-dnf-upgrade-ghostwritten.txt"),
                       read_list("packages/centos8.5-insights-core.txt"))


def _btf() -> bytes:
    # struct btf_header: magic 0xeB9F, version 1, flags 0, hdr_len 24, empty type
    # section, string section holding only "\0"
    import struct
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, 1) + b"\0"


def k8s_spec() -> HostSpec:
    modules = dict(KERNEL_MODULES)
    pkgs = distro_pkgs(_entries(), modules) + third_party_pkgs()
    files = tree("captured/centos8-k8s")
    dep = dict(modules)
    dep["weak-updates/wireguard/wireguard.ko"] = ["kernel/net/ipv4/udp_tunnel.ko.xz",
                                                  "kernel/net/ipv6/ip6_udp_tunnel.ko.xz"]
    dep["extra/zfs.ko.xz"] = []
    files.update({
        "/lib/modules/%s/modules.dep" % KVER: modules_dep(KVER, dep),
        "/lib/modules/%s/weak-updates/wireguard/wireguard.ko" % KVER:
            Symlink("/lib/modules/%s/extra/wireguard/wireguard.ko" % OLD_KVER),
        "/lib/modules/%s/extra/zfs.ko.xz" % KVER: fake_module("zfs", KVER, signed=False, license="CDDL", version="2.1.5-1"),
        "/var/lib/dkms/zfs/2.1.5/source": Symlink("/usr/src/zfs-2.1.5"),
        "/var/lib/dkms/zfs/2.1.5/%s/x86_64/module/zfs.ko.xz" % KVER:
            fake_module("zfs", KVER, signed=False, license="CDDL", version="2.1.5-1"),
        "/var/lib/dkms/zfs/kernel-%s-x86_64" % KVER: Symlink("2.1.5/%s/x86_64" % KVER),
        "/boot/config-%s" % KVER: data("kernel/centos8-kernel-4.18.0-348.7.1.el8_5-x86_64.config"),
        "/boot/vmlinuz-%s" % KVER: b"\x4d\x5a" + b"\0" * 510 + b"HdrS fake bzImage 4.18.0-348.7.1.el8_5\n",
        "/boot/System.map-%s" % KVER: "ffffffff81000000 T _stext\nffffffff81000000 T _text\n",
        "/etc/yum.repos.d/docker-ce.repo": text("repos/docker-ce.repo"),
        "/etc/yum.repos.d/kubernetes.repo": text("repos/kubernetes.repo"),
        "/etc/yum.repos.d/elrepo.repo": text("repos/elrepo.repo"),
        "/sys/kernel/btf/vmlinux": _btf(),
        "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c6c4d5b0a": b"\x06\x00\x00\x00\x00",
        "/sys/firmware/efi/fw_platform_size": "64\n",
    })
    return HostSpec(name="centos8-k8s", packages=pkgs, files=files, rpmdb="sqlite",
                    import_keys=("centos8", "docker", "elrepo", "kubernetes", "zfsonlinux"),
                    buildtime=BUILDTIME, buildhost=BUILDHOST,
                    description="CentOS Linux 8.5.2111 Kubernetes node with Docker CE, "
                                "ELRepo kmod-wireguard, DKMS zfs and an unsigned in-house agent")


def bdb_spec() -> HostSpec:
    core = {"kernel/fs/xfs/xfs.ko.xz": ["kernel/lib/libcrc32c.ko.xz"], "kernel/lib/libcrc32c.ko.xz": [],
            "kernel/drivers/net/virtio_net.ko.xz": ["kernel/drivers/net/net_failover.ko.xz",
                                                    "kernel/net/core/failover.ko.xz"],
            "kernel/drivers/net/net_failover.ko.xz": ["kernel/net/core/failover.ko.xz"],
            "kernel/net/core/failover.ko.xz": []}
    small = read_list("packages/centos8.5-insights-core.txt")
    names = {e[0] for e in small} | {"filesystem", "setup", "centos-linux-release",
                                     "centos-linux-repos", "centos-gpg-keys", "kernel",
                                     "kernel-core", "kernel-modules", "openssl-libs", "openssh-server",
                                     "sudo", "tzdata"}
    entries = [e for e in _entries() if e[0] in names]
    pkgs = distro_pkgs(entries, core)
    files = tree("captured/centos8-k8s")
    files = {p: c for p, c in files.items() if p.startswith(("/proc/sys", "/etc/crypto", "/etc/selinux"))}
    files.update({
        "/etc/hostname": "c8-legacy-db-02.example.internal\n",
        "/etc/machine-id": "9f0c2a4b6d8e4f10a2b3c4d5e6f70812\n",
        "/proc/cmdline": "BOOT_IMAGE=(hd0,msdos1)/vmlinuz-%s root=/dev/mapper/cl-root ro crashkernel=auto rhgb quiet\n" % KVER,
        "/proc/modules": "xfs 1540096 2 - Live 0xffffffffc0746000\nlibcrc32c 16384 1 xfs, Live 0xffffffffc0740000\n"
                         "virtio_net 57344 0 - Live 0xffffffffc0726000\nnet_failover 24576 1 virtio_net, Live 0xffffffffc071d000\n"
                         "failover 16384 1 net_failover, Live 0xffffffffc0717000\n",
        "/lib/modules/%s/modules.dep" % KVER: modules_dep(KVER, core),
        "/boot/config-%s" % KVER: data("kernel/centos8-kernel-4.18.0-348.7.1.el8_5-x86_64.config"),
    })
    files["/proc/sys/kernel/tainted"] = "0\n"
    return HostSpec(name="centos8-bdb", packages=pkgs, files=files, rpmdb="bdb",
                    import_keys=(KEY,), buildtime=BUILDTIME, buildhost=BUILDHOST,
                    description="small CentOS Linux 8.5.2111 host with a Berkeley DB rpmdb")
