"""What the target kernel ships, for the kernel-module checks (not a check itself).

Two sources, best first:

1. The target's repodata snapshot (``manifest.packages``, from --target-repo):
   the ``.ko`` files owned by the target's kernel packages (kernel, kernel-core,
   kernel-modules, kernel-modules-extra of the newest kernel EVR). Exact for
   modules built as ``.ko`` files; repodata does not list modules built into
   the kernel image (``modules.builtin`` is not a module file), so a module
   missing from the packages is only "not shipped" when the kernel config
   also says it is not built in.
2. The target kernel's reference config (a ``migrate.kernelconfig.KernelConfig``
   of the manifest's default kernel flavour) through MODULE_SYMBOLS below: which
   CONFIG symbol builds which module. A module that is not in the table, or
   whose symbol the config cannot answer (savedefconfig, SRPM-merged or
   excerpt configs), is ``unknown``, never "missing".

The config is read through ``migrate.kerneldata.flavour_config``, the project's
read-once cache of manifest data files (as the other kernel checks do).

MODULE_SYMBOLS is data copied from the upstream kernel's Makefiles: each entry
names the Makefile (in torvalds/linux) and the kbuild line that builds the
module. Lines marked with a commit were read in that file version through the
search index; the others were found verbatim in the indexed kernel sources and
patches (the file version is not pinned). RENAMED records modules whose name
went away upstream, with the commit that removed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from migrate.kerneldata import flavour_config

UNKNOWN = "unknown"

# module name (as /proc/modules prints it) -> (CONFIG symbol, evidence)
# Evidence: "<Makefile in torvalds/linux>: <kbuild line>[ @<commit read>]".
_TABLE = (
    # file systems
    ("xfs", "XFS_FS", "fs/xfs/Makefile", "obj-$(CONFIG_XFS_FS) += xfs.o", "00f5764dbb04"),
    ("ext4", "EXT4_FS", "fs/ext4/Makefile", "obj-$(CONFIG_EXT4_FS) += ext4.o", None),
    ("btrfs", "BTRFS_FS", "fs/btrfs/Makefile", "obj-$(CONFIG_BTRFS_FS) := btrfs.o", None),
    ("overlay", "OVERLAY_FS", "fs/overlayfs/Makefile", "obj-$(CONFIG_OVERLAY_FS) += overlay.o", "552c69b36ebd"),
    ("fuse", "FUSE_FS", "fs/fuse/Makefile", "obj-$(CONFIG_FUSE_FS) += fuse.o", None),
    ("nfs", "NFS_FS", "fs/nfs/Makefile", "obj-$(CONFIG_NFS_FS) += nfs.o", None),
    # block and storage
    ("dm_mod", "BLK_DEV_DM", "drivers/md/Makefile", "obj-$(CONFIG_BLK_DEV_DM) += dm-mod.o", None),
    ("dm_crypt", "DM_CRYPT", "drivers/md/Makefile", "obj-$(CONFIG_DM_CRYPT) += dm-crypt.o", None),
    ("virtio_blk", "VIRTIO_BLK", "drivers/block/Makefile", "obj-$(CONFIG_VIRTIO_BLK) += virtio_blk.o", None),
    ("floppy", "BLK_DEV_FD", "drivers/block/Makefile", "obj-$(CONFIG_BLK_DEV_FD) += floppy.o", None),
    ("libata", "ATA", "drivers/ata/Makefile", "obj-$(CONFIG_ATA) += libata.o", None),
    ("ahci", "SATA_AHCI", "drivers/ata/Makefile", "obj-$(CONFIG_SATA_AHCI) += ahci.o libahci.o", None),
    ("libahci", "SATA_AHCI", "drivers/ata/Makefile", "obj-$(CONFIG_SATA_AHCI) += ahci.o libahci.o", None),
    ("sd_mod", "BLK_DEV_SD", "drivers/scsi/Makefile", "obj-$(CONFIG_BLK_DEV_SD) += sd_mod.o", None),
    ("nvme", "BLK_DEV_NVME", "drivers/nvme/host/Makefile", "obj-$(CONFIG_BLK_DEV_NVME) += nvme.o", None),
    ("nvme_core", "NVME_CORE", "drivers/nvme/host/Makefile", "obj-$(CONFIG_NVME_CORE) += nvme-core.o", None),
    # virtio
    ("virtio", "VIRTIO", "drivers/virtio/Makefile", "obj-$(CONFIG_VIRTIO) += virtio.o virtio_ring.o", "0623c7592768"),
    ("virtio_ring", "VIRTIO", "drivers/virtio/Makefile", "obj-$(CONFIG_VIRTIO) += virtio.o virtio_ring.o", "0623c7592768"),
    ("virtio_pci", "VIRTIO_PCI", "drivers/virtio/Makefile", "obj-$(CONFIG_VIRTIO_PCI) += virtio_pci.o", "0623c7592768"),
    ("virtio_balloon", "VIRTIO_BALLOON", "drivers/virtio/Makefile", "obj-$(CONFIG_VIRTIO_BALLOON) += virtio_balloon.o", "0623c7592768"),
    ("virtio_net", "VIRTIO_NET", "drivers/net/Makefile", "obj-$(CONFIG_VIRTIO_NET) += virtio_net.o", None),
    # network devices and protocols
    ("net_failover", "NET_FAILOVER", "drivers/net/Makefile", "obj-$(CONFIG_NET_FAILOVER) += net_failover.o", None),
    ("failover", "FAILOVER", "net/core/Makefile", "obj-$(CONFIG_FAILOVER) += failover.o", None),
    ("veth", "VETH", "drivers/net/Makefile", "obj-$(CONFIG_VETH) += veth.o", None),
    ("vxlan", "VXLAN", "drivers/net/Makefile", "obj-$(CONFIG_VXLAN) += vxlan.o", None),
    ("geneve", "GENEVE", "drivers/net/Makefile", "obj-$(CONFIG_GENEVE) += geneve.o", None),
    ("macvlan", "MACVLAN", "drivers/net/Makefile", "obj-$(CONFIG_MACVLAN) += macvlan.o", None),
    ("tun", "TUN", "drivers/net/Makefile", "obj-$(CONFIG_TUN) += tun.o", None),
    ("bonding", "BONDING", "drivers/net/bonding/Makefile", "obj-$(CONFIG_BONDING) += bonding.o", None),
    ("team", "NET_TEAM", "drivers/net/team/Makefile", "obj-$(CONFIG_NET_TEAM) += team.o", None),
    ("8021q", "VLAN_8021Q", "net/8021q/Makefile", "obj-$(CONFIG_VLAN_8021Q) += 8021q.o", None),
    ("bridge", "BRIDGE", "net/bridge/Makefile", "obj-$(CONFIG_BRIDGE) += bridge.o", "0d204094d15d"),
    ("br_netfilter", "BRIDGE_NETFILTER", "net/bridge/Makefile", "obj-$(CONFIG_BRIDGE_NETFILTER) += br_netfilter.o", None),
    ("stp", "STP", "net/802/Makefile", "obj-$(CONFIG_STP) += stp.o", None),
    ("llc", "LLC", "net/llc/Makefile", "obj-$(CONFIG_LLC) += llc.o", "1da177e4c3f4"),
    ("udp_tunnel", "NET_UDP_TUNNEL", "net/ipv4/Makefile", "obj-$(CONFIG_NET_UDP_TUNNEL) += udp_tunnel.o", None),
    ("ip6_udp_tunnel", "NET_UDP_TUNNEL", "net/ipv6/Makefile",
     "obj-$(CONFIG_NET_UDP_TUNNEL) += ip6_udp_tunnel.o (inside ifneq ($(CONFIG_IPV6),))", None),
    ("wireguard", "WIREGUARD", "drivers/net/wireguard/Makefile", "obj-$(CONFIG_WIREGUARD) := wireguard.o", None),
    ("vmxnet3", "VMXNET3", "drivers/net/vmxnet3/Makefile", "obj-$(CONFIG_VMXNET3) += vmxnet3.o", None),
    ("e1000", "E1000", "drivers/net/ethernet/intel/e1000/Makefile", "obj-$(CONFIG_E1000) += e1000.o", None),
    ("ixgbe", "IXGBE", "drivers/net/ethernet/intel/ixgbe/Makefile", "obj-$(CONFIG_IXGBE) += ixgbe.o", None),
    # netfilter core and xtables
    ("nf_conntrack", "NF_CONNTRACK", "net/netfilter/Makefile", "obj-$(CONFIG_NF_CONNTRACK) += nf_conntrack.o", "01d7ad8ad289"),
    ("nf_nat", "NF_NAT", "net/netfilter/Makefile", "obj-$(CONFIG_NF_NAT) += nf_nat.o", "01d7ad8ad289"),
    ("nf_conntrack_netlink", "NF_CT_NETLINK", "net/netfilter/Makefile", "obj-$(CONFIG_NF_CT_NETLINK) += nf_conntrack_netlink.o", "01d7ad8ad289"),
    ("nfnetlink", "NETFILTER_NETLINK", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_NETLINK) += nfnetlink.o", "01d7ad8ad289"),
    ("nf_tables", "NF_TABLES", "net/netfilter/Makefile", "obj-$(CONFIG_NF_TABLES) += nf_tables.o", "01d7ad8ad289"),
    ("x_tables", "NETFILTER_XTABLES", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XTABLES) += x_tables.o xt_tcpudp.o", "01d7ad8ad289"),
    ("xt_conntrack", "NETFILTER_XT_MATCH_CONNTRACK", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MATCH_CONNTRACK) += xt_conntrack.o", "01d7ad8ad289"),
    ("xt_addrtype", "NETFILTER_XT_MATCH_ADDRTYPE", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MATCH_ADDRTYPE) += xt_addrtype.o", "01d7ad8ad289"),
    ("xt_comment", "NETFILTER_XT_MATCH_COMMENT", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MATCH_COMMENT) += xt_comment.o", "01d7ad8ad289"),
    ("xt_multiport", "NETFILTER_XT_MATCH_MULTIPORT", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MATCH_MULTIPORT) += xt_multiport.o", "01d7ad8ad289"),
    ("xt_mark", "NETFILTER_XT_MARK", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MARK) += xt_mark.o", "01d7ad8ad289"),
    ("xt_statistic", "NETFILTER_XT_MATCH_STATISTIC", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MATCH_STATISTIC) += xt_statistic.o", "01d7ad8ad289"),
    ("xt_physdev", "NETFILTER_XT_MATCH_PHYSDEV", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_MATCH_PHYSDEV) += xt_physdev.o", "01d7ad8ad289"),
    ("xt_set", "NETFILTER_XT_SET", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_SET) += xt_set.o", "01d7ad8ad289"),
    ("xt_nat", "NETFILTER_XT_NAT", "net/netfilter/Makefile", "obj-$(CONFIG_NETFILTER_XT_NAT) += xt_nat.o", "01d7ad8ad289"),
    ("xt_MASQUERADE", "NETFILTER_XT_TARGET_MASQUERADE", "net/netfilter/Makefile",
     "obj-$(CONFIG_NETFILTER_XT_TARGET_MASQUERADE) += xt_MASQUERADE.o", None),
    ("ip_set", "IP_SET", "net/netfilter/ipset/Makefile", "obj-$(CONFIG_IP_SET) += ip_set.o", None),
    ("ip_vs", "IP_VS", "net/netfilter/ipvs/Makefile", "obj-$(CONFIG_IP_VS) += ip_vs.o", "30c092337017"),
    ("ip_vs_rr", "IP_VS_RR", "net/netfilter/ipvs/Makefile", "obj-$(CONFIG_IP_VS_RR) += ip_vs_rr.o", "30c092337017"),
    ("ip_vs_wrr", "IP_VS_WRR", "net/netfilter/ipvs/Makefile", "obj-$(CONFIG_IP_VS_WRR) += ip_vs_wrr.o", "30c092337017"),
    ("ip_vs_lc", "IP_VS_LC", "net/netfilter/ipvs/Makefile", "obj-$(CONFIG_IP_VS_LC) += ip_vs_lc.o", "30c092337017"),
    ("ip_vs_wlc", "IP_VS_WLC", "net/netfilter/ipvs/Makefile", "obj-$(CONFIG_IP_VS_WLC) += ip_vs_wlc.o", "30c092337017"),
    ("ip_vs_sh", "IP_VS_SH", "net/netfilter/ipvs/Makefile", "obj-$(CONFIG_IP_VS_SH) += ip_vs_sh.o", "30c092337017"),
    # IPv4 netfilter
    ("nf_defrag_ipv4", "NF_DEFRAG_IPV4", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_NF_DEFRAG_IPV4) += nf_defrag_ipv4.o", "0168e8b36145"),
    ("nf_reject_ipv4", "NF_REJECT_IPV4", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_NF_REJECT_IPV4) += nf_reject_ipv4.o", "0168e8b36145"),
    ("ip_tables", "IP_NF_IPTABLES", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_IP_NF_IPTABLES) += ip_tables.o", "0168e8b36145"),
    ("iptable_filter", "IP_NF_FILTER", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_IP_NF_FILTER) += iptable_filter.o", "0168e8b36145"),
    ("iptable_nat", "IP_NF_NAT", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_IP_NF_NAT) += iptable_nat.o", "0168e8b36145"),
    ("iptable_mangle", "IP_NF_MANGLE", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_IP_NF_MANGLE) += iptable_mangle.o", "0168e8b36145"),
    ("iptable_raw", "IP_NF_RAW", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_IP_NF_RAW) += iptable_raw.o", "0168e8b36145"),
    ("ipt_REJECT", "IP_NF_TARGET_REJECT", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_IP_NF_TARGET_REJECT) += ipt_REJECT.o", "0168e8b36145"),
    ("ipt_MASQUERADE", "IP_NF_TARGET_MASQUERADE", "net/ipv4/netfilter/Makefile",
     "obj-$(CONFIG_IP_NF_TARGET_MASQUERADE) += ipt_MASQUERADE.o", "0168e8b36145"),
    ("nf_conntrack_ipv4", "NF_CONNTRACK_IPV4", "net/ipv4/netfilter/Makefile",
     "obj-$(CONFIG_NF_CONNTRACK_IPV4) += nf_conntrack_ipv4.o", "0168e8b36145"),
    ("nf_nat_ipv4", "NF_NAT_IPV4", "net/ipv4/netfilter/Makefile", "obj-$(CONFIG_NF_NAT_IPV4) += nf_nat_ipv4.o", "0168e8b36145"),
    # IPv6 netfilter
    ("nf_defrag_ipv6", "NF_DEFRAG_IPV6", "net/ipv6/netfilter/Makefile", "obj-$(CONFIG_NF_DEFRAG_IPV6) += nf_defrag_ipv6.o", "0168e8b36145"),
    ("nf_conntrack_ipv6", "NF_CONNTRACK_IPV6", "net/ipv6/netfilter/Makefile",
     "obj-$(CONFIG_NF_CONNTRACK_IPV6) += nf_conntrack_ipv6.o", "0168e8b36145"),
    ("nf_nat_ipv6", "NF_NAT_IPV6", "net/ipv6/netfilter/Makefile", "obj-$(CONFIG_NF_NAT_IPV6) += nf_nat_ipv6.o", "0168e8b36145"),
    ("ip6_tables", "IP6_NF_IPTABLES", "net/ipv6/netfilter/Makefile", "obj-$(CONFIG_IP6_NF_IPTABLES) += ip6_tables.o", "0168e8b36145"),
    ("ip6table_filter", "IP6_NF_FILTER", "net/ipv6/netfilter/Makefile", "obj-$(CONFIG_IP6_NF_FILTER) += ip6table_filter.o", "0168e8b36145"),
    ("ip6table_nat", "IP6_NF_NAT", "net/ipv6/netfilter/Makefile", "obj-$(CONFIG_IP6_NF_NAT) += ip6table_nat.o", "0168e8b36145"),
    # libraries, crypto, virtualisation
    ("libcrc32c", "LIBCRC32C", "lib/Makefile", "obj-$(CONFIG_LIBCRC32C) += libcrc32c.o", None),
    ("crc32c_intel", "CRYPTO_CRC32C_INTEL", "arch/x86/crypto/Makefile", "obj-$(CONFIG_CRYPTO_CRC32C_INTEL) += crc32c-intel.o", None),
    ("kvm_intel", "KVM_INTEL", "arch/x86/kvm/Makefile", "obj-$(CONFIG_KVM_INTEL) += kvm-intel.o", None),
)

MODULE_SYMBOLS: Dict[str, Tuple[str, str]] = {
    name: ("CONFIG_" + symbol, "torvalds/linux %s: `%s`%s" % (makefile, line, " @%s" % commit if commit else ""))
    for name, symbol, makefile, line, commit in _TABLE
}


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str          # the module that carries the function now
    alias: bool       # True: the new module declares MODULE_ALIAS(old), so `modprobe old` still works
    upstream: Tuple[int, int]  # first upstream release without the old module
    evidence: str


RENAMED: Dict[str, Renamed] = {r.old: r for r in (
    Renamed("nf_conntrack_ipv4", "nf_conntrack", False, (4, 19),
            'commit a0ae2562c6c4 ("netfilter: conntrack: remove l3proto abstraction") removed '
            "CONFIG_NF_CONNTRACK_IPV4 after v4.18; torvalds/linux net/ipv4/netfilter/Makefile has the "
            "nf_conntrack_ipv4.o line @0168e8b36145 and none @e0c38a4d1f19"),
    Renamed("nf_conntrack_ipv6", "nf_conntrack", False, (4, 19),
            'commit a0ae2562c6c4 ("netfilter: conntrack: remove l3proto abstraction") removed '
            "CONFIG_NF_CONNTRACK_IPV6 after v4.18"),
    Renamed("nf_nat_ipv4", "nf_nat", False, (5, 1),
            'commit 3bf195ae6037 ("netfilter: nat: merge nf_nat_ipv4,6 into nat core") removed '
            "CONFIG_NF_NAT_IPV4"),
    Renamed("nf_nat_ipv6", "nf_nat", False, (5, 1),
            'commit 3bf195ae6037 ("netfilter: nat: merge nf_nat_ipv4,6 into nat core")'),
    Renamed("ipt_MASQUERADE", "xt_MASQUERADE", True, (5, 2),
            'commit adf82accc5f5 ("netfilter: x_tables: merge ip and ipv6 masquerade modules"); '
            'torvalds/linux net/netfilter/xt_MASQUERADE.c declares MODULE_ALIAS("ipt_MASQUERADE") @355a47ae7ebc'),
    Renamed("ip6t_MASQUERADE", "xt_MASQUERADE", True, (5, 2),
            'commit adf82accc5f5; net/netfilter/xt_MASQUERADE.c declares MODULE_ALIAS("ip6t_MASQUERADE") '
            "@355a47ae7ebc"),
)}

# Package names (after the flavour's base name) whose module files make up the kernel.
KERNEL_PACKAGE_SUFFIXES = ("", "-core", "-modules", "-modules-core", "-modules-extra")


def normalise(name: str) -> str:
    """kmod treats '-' and '_' in module names alike; /proc/modules prints '_' (the
    collector's module-name rule, which leaves a plain name's other characters alone)."""
    from migrate.collector import module_name
    return module_name(name)


def _version_tuple(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    parts = []
    for piece in (text or "").split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) if len(parts) >= 2 else None


@dataclass(frozen=True)
class TargetKernel:
    """What is known about the target kernel's modules."""

    flavour_name: str
    flavour_version: Optional[str]
    # module name -> NEVRAs of the target kernel packages shipping it (None: no snapshot
    # with kernel packages was given)
    modules: Optional[Mapping[str, Tuple[str, ...]]]
    release: Optional[str]       # kernel release of those packages, e.g. 5.4.119-19.0009.x86_64
    packages_source: Optional[str]
    config: Optional[object]     # migrate.kernelconfig.KernelConfig of the default flavour
    config_note: str             # why there is no usable config, or what kind it is

    @property
    def decidable(self) -> bool:
        return self.modules is not None or self.config is not None


def _snapshot_kernel(snapshot, base: str, arch: Optional[str]):
    """(module -> NEVRAs, release) of the newest kernel EVR in a snapshot, or (None, None)."""
    from migrate.collector import labelcompare, module_name

    names = [base + suffix for suffix in KERNEL_PACKAGE_SUFFIXES]
    candidates = []
    for name in names:
        for pkg in snapshot.by_name(name):
            if pkg.module_paths and pkg.arch not in ("src", "nosrc") and (arch is None or pkg.arch == arch):
                candidates.append(pkg)
    if not candidates:
        return None, None
    newest = candidates[0]
    for pkg in candidates[1:]:
        if labelcompare(pkg.evr, newest.evr) > 0:
            newest = pkg
    modules: Dict[str, list] = {}
    release = None
    for pkg in candidates:
        if pkg.evr != newest.evr:
            continue
        for path in pkg.module_paths:
            modules.setdefault(module_name(path), []).append(pkg.nevra)
            if release is None and "/modules/" in path:
                release = path.split("/modules/", 1)[1].split("/", 1)[0]
    return {name: tuple(sorted(set(nevras))) for name, nevras in modules.items()}, release


def target_kernel(facts, manifest) -> TargetKernel:
    flavour = manifest.kernel_flavour()
    base = flavour.package or "kernel"
    modules = release = None
    source = None
    if manifest.packages is not None:
        modules, release = _snapshot_kernel(manifest.packages, base, facts.os.arch)
        source = manifest.packages_source or getattr(manifest.packages, "source", None)
    ref = flavour.config
    config = flavour_config(manifest) if ref is not None else None
    if ref is None:
        note = "the manifest has no reference config for %s" % flavour.name
        config = None
    elif facts.os.arch and ref.arch and facts.os.arch != ref.arch:
        note = "the reference config is for %s, the host is %s" % (ref.arch, facts.os.arch)
        config = None
    else:
        note = "%s config %s" % (ref.kind, ref.file)
    return TargetKernel(flavour.name, flavour.version, modules, release, source, config, note)


@dataclass(frozen=True)
class Availability:
    # shipped | builtin | renamed | merged | missing | not_in_packages | unknown
    status: str
    detail: str
    renamed: Optional[Renamed] = None


def config_state(tk: TargetKernel, module: str) -> Tuple[str, str]:
    """(y | m | n | a value | unknown, why) for the symbol that builds `module`."""
    entry = MODULE_SYMBOLS.get(module)
    if entry is None:
        return UNKNOWN, "%s is not in the module-to-CONFIG table" % module
    symbol, evidence = entry
    if tk.config is None:
        return UNKNOWN, "no target kernel config: " + tk.config_note
    state = tk.config.state(symbol)
    if state == UNKNOWN:
        return UNKNOWN, "%s is absent from the %s config, which cannot say it is off" % (symbol, tk.config.kind)
    return state, "%s=%s in the %s config (%s)" % (symbol, state, tk.config.kind, evidence)


def _new_module_available(tk: TargetKernel, name: str) -> bool:
    if tk.modules is not None and name in tk.modules:
        return True
    state, _ = config_state(tk, name)
    return state in ("y", "m")


def availability(tk: TargetKernel, module: str) -> Availability:
    module = normalise(module)
    if tk.modules is not None and module in tk.modules:
        return Availability("shipped", "in %s" % ", ".join(tk.modules[module]))
    state, why = config_state(tk, module)
    renamed = RENAMED.get(module)
    if renamed and state not in ("y", "m") and _new_module_available(tk, renamed.new):
        version = _version_tuple(tk.flavour_version)
        gone = state == "n" or tk.modules is not None or (version is not None and version >= renamed.upstream)
        if gone:
            kind = "renamed" if renamed.alias else "merged"
            return Availability(kind, "%s carries it (%s)" % (renamed.new, renamed.evidence), renamed)
    if tk.modules is not None:
        if state == "y":
            return Availability("builtin", "not a module file in the target packages, built in: " + why)
        if state == "n":
            return Availability("missing", "no module file in the target kernel packages, and " + why)
        if state == "m":
            return Availability("not_in_packages", "no kernel package in the given repositories has its "
                                "file although %s: a repository (or a kernel-modules-extra package) may "
                                "be missing from --target-repo" % why)
        return Availability("not_in_packages", "no module file in the target kernel packages (%s); "
                            "whether it is built into the kernel is unknown: %s" % (tk.release or "?", why))
    if state in ("y", "m"):
        return Availability("builtin" if state == "y" else "shipped", why)
    if state == "n":
        return Availability("missing", why)
    return Availability("unknown", why)
