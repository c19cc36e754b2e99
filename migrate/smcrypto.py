"""SM2/SM3/SM4 readiness: a matrix of layers x algorithms for the source host and a target.

Layers: the kernel crypto API (config options; /proc/crypto on the source), IMA
(SM3 measurement hash, SM2 signatures), kernel module signing, OpenSSL, Tongsuo
(ex-BabaSSL) and GmSSL, libgcrypt, nettle (GnuTLS's crypto backend: GnuTLS's own
SM support is not in the data) and coreutils (``cksum -a sm3``). Each cell is
yes/no/unknown with its evidence; an algorithm a layer never offers is left out.

Source cells come from facts (config, /proc/crypto, package versions, the
``openssl list`` output when it was collected); target cells from the kernel
flavour's reference config and the manifest's ``crypto`` group. Version rules
and their evidence: crypto/sm-support-matrix.json and the OpenAnolis ShangMi
white book (../shared/data/crypto/whitebook-shangmi, src/crypto_library.md).
"""
from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Dict, List, Optional, Sequence, Tuple

from migrate import kerneldata
from migrate.kerneldata import Record
from migrate.kernelcaps import NO, UNKNOWN, YES, Cell, KernelProfile, source_profile, target_profile

ALGORITHMS = ("sm2", "sm3", "sm4")
LAYERS: Dict[str, Tuple[str, ...]] = {
    "kernel": ALGORITHMS, "ima": ("sm2", "sm3"), "module_signing": ("sm2", "sm3"),
    "openssl": ALGORITHMS, "tongsuo": ALGORITHMS, "libgcrypt": ALGORITHMS,
    "nettle": ("sm3", "sm4"), "coreutils": ("sm3",),
}
# Libraries an application can use for SM algorithms (a certificate or an explicit
# "sm-crypto" need is met by any of them).
LIBRARIES = ("openssl", "tongsuo", "libgcrypt", "nettle")
SM_PACKAGES = re.compile(r"^(tongsuo|babassl|gmssl)([-_].*)?$", re.I)
WHITEBOOK = "OpenAnolis ShangMi white book src/crypto_library.md (whitebook-shangmi @afc38e22a488)"
MATRIX = "crypto/sm-support-matrix.json"
RANK = {YES: 2, UNKNOWN: 1, NO: 0}


class SmCell(Record):
    """One layer x algorithm answer with its evidence."""

    __slots__ = ("status", "evidence", "detail")
    _defaults = {"detail": MappingProxyType({})}
    status: str
    evidence: str
    # Structured detail for reports and tests: options or drivers behind the answer.
    detail: Dict[str, str]

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"status": self.status, "evidence": self.evidence}
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


def _num(version: Optional[str]) -> Optional[Tuple[int, ...]]:
    m = re.match(r"^\s*(?:\d+:)?(\d+(?:\.\d+)*)", version or "")
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


# -- kernel --------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def kernel_options() -> Dict[str, Tuple[Tuple[str, Optional[str]], ...]]:
    """algorithm -> ((CONFIG option, arch or None), ...), from sm-support-matrix.json."""
    out: Dict[str, List[Tuple[str, Optional[str]]]] = {a: [] for a in ALGORITHMS}
    for row in kerneldata.table(kerneldata.SM_MATRIX)["kernel_config_options"]:
        name = row["option"]
        m = re.match(r"^CONFIG_CRYPTO_(SM[234])", name)
        if not m:
            continue  # CONFIG_IMA_DEFAULT_HASH_SM3 is an IMA setting, not an implementation
        arch = "x86_64" if "X86_64" in name else "aarch64" if ("ARM64" in name or "NEON" in name) else None
        out[m.group(1).lower()].append((name, arch))
    return {a: tuple(v) for a, v in out.items()}


def _proc_crypto(facts: Any, alg: str) -> Optional[SmCell]:
    if facts is None or facts.probe("crypto.proc_crypto").status != "ok" or facts.crypto.proc_crypto is None:
        return None
    hits = [e for e in facts.crypto.proc_crypto
            if e.name == alg or re.search(r"\(%s\)" % alg, e.name or "")]
    if not hits:
        return None
    return SmCell(YES, "/proc/crypto lists %s" % ", ".join(
        "%s (driver %s, module %s)" % (e.name, e.driver, e.module) for e in hits[:4]),
        {e.driver or e.name: "registered (%s)" % (e.module or "kernel") for e in hits})


def kernel_cell(p: KernelProfile, alg: str, facts: Any = None, manifest: Any = None) -> SmCell:
    """The kernel crypto API's support for one algorithm."""
    live = _proc_crypto(facts, alg)
    if live is not None:
        return live
    arch = p.arch or "x86_64"
    options = [name for name, only in kernel_options()[alg] if only in (None, arch)]
    cells = {name: p.config.option(name) for name in options}
    enabled = {n: c for n, c in cells.items() if c.status == YES}
    if enabled:
        states = {n: (p.config.value(n) or "y") for n in enabled}
        return SmCell(YES, "; ".join(c.evidence for c in enabled.values()), states)
    generic = "CONFIG_CRYPTO_%s" % alg.upper()
    if alg in ("sm3", "sm4") and p.config.value(generic) == "n":
        # Every accelerated SM3/SM4 driver selects CONFIG_CRYPTO_SM3/SM4, so with that
        # option off none of them can be on (arch/x86/crypto/Kconfig, arch/arm64/crypto/Kconfig).
        return SmCell(NO, "%s; the accelerated %s drivers select it, so none is built (arch/x86/crypto/Kconfig)" % (
            cells[generic].evidence, alg.upper()), {generic: "n"})
    if all(c.status == NO for c in cells.values()):
        return SmCell(NO, "; ".join(c.evidence for c in cells.values()), {n: "n" for n in cells})
    if alg == "sm2" and p.version is not None and p.version < (5, 10, 0) and not p.family.backports:
        return SmCell(NO, "CONFIG_CRYPTO_SM2 entered upstream in 5.10 (%s); kernel %s has no backport data" % (
            MATRIX, ".".join(map(str, p.version))))
    if manifest is not None:
        value = manifest.crypto["kernel"][alg]
        status = {"builtin": YES, "module": YES, "yes": YES, "no": NO}.get(value, UNKNOWN)
        return SmCell(status, "manifest %s crypto.kernel.%s = %s: %s" % (
            manifest.id, alg, value, " ".join(manifest.crypto["kernel"]["evidence"].split())), {"manifest": value})
    return SmCell(UNKNOWN, "; ".join(c.evidence for c in cells.values() if c.status == UNKNOWN))


def _ima(p: KernelProfile, alg: str, kernel: SmCell) -> SmCell:
    cells = [("CONFIG_IMA", p.config.option("CONFIG_IMA"))]
    if alg == "sm2":
        cells.append(("CONFIG_INTEGRITY_ASYMMETRIC_KEYS", p.config.option("CONFIG_INTEGRITY_ASYMMETRIC_KEYS")))
    cells.append(("kernel %s" % alg, Cell(kernel.status, kernel.evidence)))
    what = "IMA with SM3 as the measurement hash" if alg == "sm3" else "IMA appraisal with SM2 signatures"
    return _all_of(what, cells, "whitebook src/kernel_ima.md")


def _modsign(p: KernelProfile, alg: str, kernel: SmCell) -> SmCell:
    sig = p.config.option("CONFIG_MODULE_SIG")
    what = "module signatures with %s" % ("SM2" if alg == "sm2" else "SM3 digests")
    if sig.status == NO or kernel.status == NO:
        return SmCell(NO, "%s: %s" % (what, sig.evidence if sig.status == NO else kernel.evidence))
    if sig.status == UNKNOWN or kernel.status == UNKNOWN:
        return SmCell(UNKNOWN, "%s: %s" % (what, sig.evidence if sig.status == UNKNOWN else kernel.evidence))
    states = set(kernel.detail.values())
    if "y" in states:
        return SmCell(YES, "%s; %s built in (whitebook src/kernel_modsign.md: sign-file sm3 with an SM2 key)" % (
            sig.evidence, alg.upper()), {k: v for k, v in kernel.detail.items() if v == "y"})
    return SmCell(UNKNOWN, "%s; %s is only available as a module (%s): checking module signatures with it needs "
                  "it loaded first, which the data does not establish" % (sig.evidence, alg.upper(), kernel.evidence))


def _all_of(what: str, cells: Sequence[Tuple[str, Cell]], source: str) -> SmCell:
    for name, cell in cells:
        if cell.status == NO:
            return SmCell(NO, "%s: %s" % (what, cell.evidence))
    pending = [c.evidence for _, c in cells if c.status != YES]
    if pending:
        return SmCell(UNKNOWN, "%s: %s" % (what, "; ".join(pending)))
    return SmCell(YES, "%s (%s): %s" % (what, source, "; ".join(c.evidence for _, c in cells)))


# -- user space on the source host --------------------------------------------------------

def _package(facts: Any, *names: str) -> Optional[Any]:
    for pkg in facts.packages or ():
        if pkg.name in names:
            return pkg
    return None


def _dist(facts: Any, text: str) -> Optional[str]:
    """el7/el8/el9/an8/... from a package release, else from the host's os-release."""
    m = re.search(r"\.(el|an)(\d+)", text or "")
    if m:
        return m.group(1) + m.group(2)
    osr = facts.os.os_release or {}
    if osr.get("ID") in ("centos", "rhel", "almalinux", "rocky") and osr.get("VERSION_ID"):
        return "el" + osr["VERSION_ID"].split(".")[0]
    return None


def openssl_cells(facts: Any) -> Dict[str, SmCell]:
    c = facts.crypto
    if facts.probe("crypto.openssl_algorithms").status == "ok" and c.openssl_digests is not None:
        names = {n.upper() for n in (c.openssl_digests or ()) + (c.openssl_ciphers or ()) + (c.openssl_public_key or ())}
        found = {"sm2": "SM2" in names, "sm3": "SM3" in names,
                 "sm4": any(n.startswith("SM4") for n in names)}
        return {alg: SmCell(YES if ok else NO, "`openssl list` on the host %s %s" % (
            "lists" if ok else "does not list", alg.upper()), {"source": "openssl list"}) for alg, ok in found.items()}
    probe = facts.probe("crypto.openssl_version")
    if probe.status != "ok" or not c.openssl_version:
        status = NO if probe.status == "absent" else UNKNOWN
        return {alg: SmCell(status, "OpenSSL: %s (%s)" % (probe.status, probe.message or "no version"))
                for alg in ALGORITHMS}
    text = c.openssl_version
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    version = tuple(int(x) for x in m.groups()) if m else None
    dist = _dist(facts, text)
    where = "OpenSSL %s (%s)" % (text, c.openssl_version_source or "collector")
    if version is None:
        return {alg: SmCell(UNKNOWN, "%s: version not recognised" % where) for alg in ALGORITHMS}
    if version < (1, 1, 1):
        return {alg: SmCell(NO, "%s: OpenSSL before 1.1.1 has no SM algorithms (%s)" % (where, MATRIX))
                for alg in ALGORITHMS}
    if dist in ("el8", "el9"):
        why = "%s: %s's OpenSSL is built \"no-sm2 no-sm4\" (%s: openela-main/openssl openssl.spec %s)" % (
            where, dist.upper(), MATRIX, "el8 line 318" if dist == "el8" else "el9 line 357")
        return {"sm2": SmCell(NO, why), "sm3": SmCell(YES, why), "sm4": SmCell(NO, why)}
    if dist and dist.startswith("an") and version[:2] == (1, 1):
        why = ("%s: Anolis OS 8.8 and later build SM2/SM3/SM4 in (whitebook src/anolisos_guide.md); this build's "
               "minor release is not known" % where)
        return {alg: SmCell(UNKNOWN, why) for alg in ALGORITHMS}
    if version[:2] == (1, 1):
        return {"sm2": SmCell(NO, "%s: 1.1.1 cannot make standard SM2 signatures (no distinguishing-ID Za, %s)" % (where, WHITEBOOK)),
                "sm3": SmCell(YES, "%s: upstream 1.1.1 has SM3 (%s)" % (where, MATRIX)),
                "sm4": SmCell(YES, "%s: upstream 1.1.1 has SM4 (%s)" % (where, MATRIX))}
    return {alg: SmCell(YES, "%s: OpenSSL 3.x has complete SM2/SM3/SM4 (%s)" % (where, WHITEBOOK)) for alg in ALGORITHMS}


def _versioned(facts: Any, names: Sequence[str], minimum: Tuple[int, ...], algs: Sequence[str],
               what: str, source: str, partial: Optional[Dict[str, str]] = None) -> Dict[str, SmCell]:
    if facts.probe("packages").status != "ok":
        return {a: SmCell(UNKNOWN, "installed packages unknown (packages probe %s)" % facts.probe("packages").status)
                for a in algs}
    pkg = _package(facts, *names)
    if pkg is None:
        return {a: SmCell(NO, "%s is not installed" % "/".join(names)) for a in algs}
    ok = (_num(pkg.version) or ()) >= minimum
    out = {}
    for a in algs:
        if ok and partial and a in partial:
            out[a] = SmCell(UNKNOWN, "%s %s: %s" % (pkg.nevra, what, partial[a]), {"package": pkg.nevra})
        else:
            out[a] = SmCell(YES if ok else NO, "%s: %s from %s (%s)" % (
                pkg.nevra, what, ".".join(map(str, minimum)), source), {"package": pkg.nevra})
    return out


def source_userspace(facts: Any) -> Dict[str, Dict[str, SmCell]]:
    out: Dict[str, Dict[str, SmCell]] = {"openssl": openssl_cells(facts)}
    if facts.probe("packages").status != "ok":
        out["tongsuo"] = {a: SmCell(UNKNOWN, "installed packages unknown") for a in ALGORITHMS}
    else:
        found = [p.nevra for p in facts.packages or () if SM_PACKAGES.match(p.name)]
        out["tongsuo"] = {a: SmCell(YES if found else NO, ("installed: %s (Tongsuo/BabaSSL/GmSSL implement "
                                                           "SM2/SM3/SM4, whitebook src/tongsuo.md)" % ", ".join(found))
                                    if found else "no Tongsuo, BabaSSL or GmSSL package installed",
                                    {"packages": ", ".join(found)} if found else {}) for a in ALGORITHMS}
    out["libgcrypt"] = _versioned(facts, ("libgcrypt",), (1, 9, 0), ALGORITHMS, "SM2/SM3/SM4",
                                  WHITEBOOK + "; " + MATRIX)
    out["nettle"] = _versioned(facts, ("nettle",), (3, 8), ("sm3", "sm4"), "SM3", WHITEBOOK,
                               partial={"sm4": "SM4 was only on nettle's development branch after 3.8 (%s)" % WHITEBOOK})
    out["coreutils"] = _versioned(facts, ("coreutils", "coreutils-single"), (9, 0), ("sm3",),
                                  "`cksum -a sm3`", WHITEBOOK)
    return out


# -- user space on a target -----------------------------------------------------------------------

def target_userspace(manifest: Any) -> Dict[str, Dict[str, SmCell]]:
    crypto = manifest.crypto

    def cell(value: Any, evidence: str, key: str) -> SmCell:
        status = value if value in (YES, NO) else UNKNOWN
        return SmCell(status, "manifest %s crypto.%s = %s: %s" % (manifest.id, key, value, " ".join(evidence.split())),
                      {"manifest": str(value)})

    ossl, tong, gcry, core = crypto["openssl"], crypto["tongsuo"], crypto["libgcrypt"], crypto["coreutils_cksum_sm3"]
    out = {"openssl": {a: cell(ossl[a], ossl["evidence"], "openssl." + a) for a in ALGORITHMS},
           "tongsuo": {a: cell(tong["available"], tong["evidence"], "tongsuo.available") for a in ALGORITHMS}}
    sm = gcry["sm"]
    if sm not in (YES, NO) and _num(gcry.get("version")):
        sm = YES if _num(gcry["version"]) >= (1, 9, 0) else NO
    out["libgcrypt"] = {a: cell(sm, gcry["evidence"], "libgcrypt.sm") for a in ALGORITHMS}
    out["nettle"] = {a: SmCell(UNKNOWN, "manifest %s has no nettle/GnuTLS data (nettle has SM3 from 3.8, %s)" % (
        manifest.id, WHITEBOOK)) for a in ("sm3", "sm4")}
    out["coreutils"] = {"sm3": cell(core["available"], core["evidence"], "coreutils_cksum_sm3.available")}
    return out


# -- the matrix ----------------------------------------------------------------------------------

def _kernel_layers(p: KernelProfile, facts: Any = None, manifest: Any = None) -> Dict[str, Dict[str, SmCell]]:
    kernel = {a: kernel_cell(p, a, facts, manifest) for a in ALGORITHMS}
    return {"kernel": kernel,
            "ima": {a: _ima(p, a, kernel[a]) for a in LAYERS["ima"]},
            "module_signing": {a: _modsign(p, a, kernel[a]) for a in LAYERS["module_signing"]}}


def source_cells(facts: Any) -> Dict[str, Dict[str, SmCell]]:
    out = _kernel_layers(source_profile(facts), facts=facts)
    out.update(source_userspace(facts))
    return {layer: out[layer] for layer in LAYERS}


def target_cells(manifest: Any, arch: Optional[str] = None) -> Dict[str, Dict[str, SmCell]]:
    out = _kernel_layers(target_profile(manifest, arch=arch), manifest=manifest)
    out.update(target_userspace(manifest))
    return {layer: out[layer] for layer in LAYERS}


def sm_matrix(facts: Any, manifest: Any) -> Dict[str, Any]:
    """Layers x algorithms for the source host and the target, each cell yes/no/unknown with evidence."""
    def plain(cells: Dict[str, Dict[str, SmCell]]) -> Dict[str, Dict[str, Any]]:
        return {layer: {a: c.to_dict() for a, c in row.items()} for layer, row in cells.items()}
    return {"algorithms": list(ALGORITHMS), "layers": {k: list(v) for k, v in LAYERS.items()},
            "source": plain(source_cells(facts)),
            "target": plain(target_cells(manifest, facts.os.arch)), "target_id": manifest.id,
            "usage": [u.to_dict() for u in usage(facts)]}


# -- what the host uses today ----------------------------------------------------------------------

class Usage(Record):
    """One way the source host uses SM algorithms today."""

    __slots__ = ("subject", "algorithms", "layers", "evidence")
    subject: str  # a path, path:line or package
    algorithms: Tuple[str, ...]
    layers: Tuple[str, ...]  # any one of these layers can serve it
    evidence: str

    def to_dict(self) -> Dict[str, Any]:
        return {"subject": self.subject, "algorithms": list(self.algorithms), "layers": list(self.layers),
                "evidence": self.evidence}


SM_OIDS = {"1.2.156.10197.1.301": ("sm2",), "1.2.156.10197.1.501": ("sm2", "sm3")}
KERNEL_MODULES = re.compile(r"^(sm[234])[_-]")


def usage(facts: Any) -> Tuple[Usage, ...]:
    """SM algorithms the source host uses today (facts.workloads, packages, loaded modules)."""
    w = facts.workloads
    out: List[Usage] = []
    for line in w.openssl_sm_lines:
        algs = tuple(a for a in ALGORITHMS if re.search(r"\b%s\b" % a, line.text, re.I))
        if re.search(r"SM2[-_]?with[-_]?SM3", line.text, re.I):
            algs = ("sm2", "sm3")
        out.append(Usage("%s:%d" % (line.path, line.line), algs or ALGORITHMS, ("openssl",),
                         "OpenSSL configuration line %r" % line.text))
    for cert in w.sm2_certificates:
        algs = tuple(sorted({a for oid in cert.oids for a in SM_OIDS.get(oid, ("sm2",))}))
        out.append(Usage(cert.path, algs, ("openssl", "tongsuo", "libgcrypt"),
                         "certificate with SM OIDs %s" % ", ".join(cert.oids)))
    for pkg in facts.packages or ():
        if SM_PACKAGES.match(pkg.name):
            out.append(Usage(pkg.nevra, ALGORITHMS, ("tongsuo",), "SM crypto library package installed"))
    for mod in facts.kmods.loaded or ():
        m = KERNEL_MODULES.match(mod.name)
        if m:
            out.append(Usage("module %s" % mod.name, (m.group(1),), ("kernel",), "kernel module %s is loaded" % mod.name))
    return tuple(out)


def best(cells: Dict[str, Dict[str, SmCell]], layers: Sequence[str], alg: str) -> Tuple[str, List[str]]:
    """The best status any of ``layers`` has for ``alg``, with the evidence behind it."""
    found = [(layer, cells[layer][alg]) for layer in layers if alg in cells.get(layer, {})]
    if not found:
        return NO, ["no layer among %s offers %s" % (", ".join(layers), alg)]
    top = max(RANK[c.status] for _, c in found)
    status = {2: YES, 1: UNKNOWN, 0: NO}[top]
    return status, ["%s %s: %s" % (layer, c.status, c.evidence) for layer, c in found if RANK[c.status] == top]


def need_layers(need: Any) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(algorithms, candidate layers) of an sm-crypto need (see migrate.needs)."""
    algs = ALGORITHMS if need.name == "sm_crypto" else (need.name,)
    layers = (need.version,) if need.version else LIBRARIES
    return algs, layers
