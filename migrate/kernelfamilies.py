"""Which distribution kernel line a kernel belongs to, and what that says about backports.

The bcc tables give *upstream* versions. Distribution kernels carry backports:
RHEL 8's 4.18, TencentOS/OpenCloudOS 5.4 and Alibaba's ANCK have BPF features
their version number predates, so "upstream added it in 5.8, this is 4.18" is
no proof the feature is missing there. For such a kernel a version-only "no"
becomes ``unknown`` (with this table's evidence), unless the kernel's config
settles it. Documented equivalences (Cilium: "4.18 on RHEL 8.6" counts as 5.4)
are kept as data rows of ebpf/cilium-requirements.json and applied by
migrate.cilium; this module only maps a RHEL kernel to its minor release.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple

from migrate import kerneldata


class KernelFamily(kerneldata.Record):
    """A distribution kernel line and what its version numbers can prove."""

    __slots__ = ("id", "name", "backports", "evidence")
    id: str
    name: str
    # True: the line is known to carry backports, so an upstream version that is
    # newer than this kernel's proves nothing (unknown, never a guessed "no").
    backports: bool
    evidence: str


RHEL7 = KernelFamily(
    "rhel7", "RHEL 7 kernel (3.10.0)", True,
    "RHEL 7's 3.10 carries eBPF backports: the CentOS 7.9 3.10.0-1160 config enables CONFIG_BPF_SYSCALL, "
    "CONFIG_BPF_JIT and CONFIG_BPF_EVENTS, which upstream only has from 3.18/4.1 (bcc "
    "docs/kernel-versions.md, ebpf/bcc-kernel-versions.json)")
RHEL8 = KernelFamily(
    "rhel8", "RHEL 8 kernel (4.18.0)", True,
    "RHEL 8's 4.18 carries BPF backports: Cilium documents 4.18 on RHEL 8 as equivalent to 4.19.57, on "
    "RHEL 8.6 to 5.4 and on RHEL 8.10 to 5.10 (ebpf/cilium-requirements.json, cilium/cilium PRs #23951, "
    "#36386, #42081); ../shared/data/ebpf/SOURCES.md caveat")
TENCENTOS = KernelFamily(
    "tencentos", "TencentOS/OpenCloudOS kernel 5.4 (tlinux4)", True,
    "TencentOS/OpenCloudOS 5.4 kernels carry BPF backports (../shared/data/ebpf/SOURCES.md caveat: "
    "\"ANCK/TencentOS kernels carry many BPF backports\")")
ANCK = KernelFamily(
    "anck", "Anolis Cloud Kernel (ANCK)", True,
    "ANCK carries backports: the ANCK 4.19.91 anolis_defconfig sets CONFIG_CRYPTO_SM2=y and "
    "CONFIG_CRYPTO_SM4_AESNI_AVX2_X86_64=y, which upstream only has from 5.10/5.15 "
    "(crypto/sm-support-matrix.json); ../shared/data/ebpf/SOURCES.md caveat on BPF backports")
UPSTREAM = KernelFamily(
    "upstream", "kernel without backport data", False,
    "no backport data for this kernel line: upstream versions (bcc docs/kernel-versions.md) apply")


def family_for(version: Optional[Tuple[int, ...]], release: str = "", hint: str = "") -> KernelFamily:
    """Classify a kernel by its version, release string and (for targets) flavour id."""
    text = ("%s %s" % (release, hint)).lower()
    base = tuple(version[:3]) if version else ()
    # RHEL-compatible kernels first: Anolis's RHCK carries ".an7"/".an8" like ANCK does.
    if base == (4, 18, 0) and re.search(r"el8|an8|rhck", text):
        return RHEL8
    if base == (3, 10, 0) and re.search(r"el7|an7|rhck", text):
        return RHEL7
    if "anck" in text or re.search(r"\.an(7|8|23)\b", text):
        return ANCK
    if "tlinux" in text or "ocrelease" in text or re.search(r"\btl[234]\b", text) or \
            (base[:2] == (5, 4) and ("tencent" in text or "oc8" in text)):
        return TENCENTOS
    return UPSTREAM


def rhel_minor(release: Optional[str]) -> Optional[Tuple[int, int]]:
    """RHEL minor release of a RHEL-family kernel release string (CentOS uses the same NVRs).

    ``4.18.0-348.7.1.el8_5.x86_64`` -> (8, 5), through insights-core's release map
    (ebpf/rhel-kernel-release-map.json): the newest mapped "<version>-<first release
    number>" at or below this kernel's.
    """
    m = re.match(r"^(\d+\.\d+\.\d+)-(\d+)", release or "")
    if not m:
        return None
    version, number = m.group(1), int(m.group(2))
    best = None
    for key, minor in kerneldata.table(kerneldata.RHEL_RELEASE_MAP)["rhel_kernel_to_release"].items():
        kver, _, knum = key.partition("-")
        if kver != version or not knum.isdigit() or ".alt" in minor:
            continue
        if int(knum) <= number and (best is None or int(knum) > best[0]):
            best = (int(knum), minor)
    if best is None:
        return None
    major, _, minor = best[1].partition(".")
    return (int(major), int(minor or 0))
