"""Hosts for the kernel-capability, Cilium and SM-crypto tests.

    centos7-cilium   centos7-minimal plus a Cilium 1.14.5 Kubernetes node's traces (plain files):
                     docker's repositories.json with quay.io/cilium/cilium:v1.14.5, the Cilium CNI
                     conflist, pinned Cilium maps under /sys/fs/bpf, a kubelet config (cgroupDriver
                     systemd, cgroup v1), and CentOS 7's bcc-tools package
    centos8-sm       centos8-bdb plus SM usage: OpenSSL config lines naming SM2/SM3/SM4, a real
                     SM2/SM3 certificate under /etc/pki, and a Tongsuo package

Both reuse the named hosts' specs (tests/hosts/centos7.py, centos8.py) and only
add files and a package, so the facts differ from those hosts exactly by the
workload traces. The SM2 certificate is made once with the machine's OpenSSL 3
(`openssl genpkey -algorithm SM2`, `openssl req -x509 -sm3 -sigopt distid:...`)
and kept in the test cache: SM2 signatures are randomised, and a new certificate
per run would change the host's digest and rebuild it every time.
"""

import json
import subprocess
from pathlib import Path

from . import centos7, centos8
from .common import Pkg

if __package__ and __package__.startswith("tests."):
    from tests.hostbuild import HostSpec
    from tests.hostbuild.cache import cache_root
else:
    from hostbuild import HostSpec
    from hostbuild.cache import cache_root

CILIUM_VERSION = "1.14.5"
CILIUM_IMAGE = "quay.io/cilium/cilium:v%s" % CILIUM_VERSION
# Object names as Cilium pins them under /sys/fs/bpf/tc/globals (cilium/cilium bpf/lib maps).
PINNED = ("cilium_calls_00042", "cilium_ct4_global", "cilium_ct_any4_global", "cilium_ipcache",
          "cilium_lb4_services_v2", "cilium_lxc", "cilium_metrics", "cilium_policy_00042")
CNI_CONFLIST = json.dumps({
    "cniVersion": "0.3.1", "name": "cilium",
    "plugins": [{"type": "cilium-cni", "enable-debug": False, "log-file": "/var/run/cilium/cilium-cni.log"}],
}, indent=2) + "\n"
KUBELET_CONFIG = ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                  "cgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n")


def centos7_cilium_spec() -> HostSpec:
    spec = centos7.spec()
    files = dict(spec.files)
    files["/var/lib/docker/image/overlay2/repositories.json"] = json.dumps({"Repositories": {
        "quay.io/cilium/cilium": {CILIUM_IMAGE: "sha256:" + "1" * 64},
        "quay.io/cilium/operator-generic": {
            "quay.io/cilium/operator-generic:v%s" % CILIUM_VERSION: "sha256:" + "2" * 64},
        "registry.k8s.io/pause": {"registry.k8s.io/pause:3.9": "sha256:" + "3" * 64},
    }})
    files["/etc/cni/net.d/05-cilium.conflist"] = CNI_CONFLIST
    for name in PINNED:
        files["/sys/fs/bpf/tc/globals/" + name] = ""
    files["/var/lib/kubelet/config.yaml"] = KUBELET_CONFIG
    # cgroup v1: per-controller hierarchies, no cgroup.controllers at the top
    files["/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"] = "-1\n"
    files["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = "9223372036854771712\n"
    bcc = Pkg(name="bcc-tools", version="0.10.0", release="1.el7", vendor=centos7.VENDOR,
              packager=centos7.PACKAGER, license="ASL 2.0", summary="Command line tools for BPF Compiler Collection (BCC)",
              files={"/usr/share/bcc/tools/execsnoop": "#!/usr/bin/python\n# bcc execsnoop\n"},
              modes={"/usr/share/bcc/tools/execsnoop": "0755"}, sign_key=centos7.KEY, buildtime=1587340800)
    return HostSpec(name="centos7-cilium", packages=list(spec.packages) + [bcc], files=files,
                    rpmdb=spec.rpmdb, import_keys=spec.import_keys, buildtime=spec.buildtime,
                    buildhost=spec.buildhost,
                    description="CentOS Linux 7.9 Kubernetes node running Cilium %s, with bcc-tools" % CILIUM_VERSION)


def sm2_certificate() -> bytes:
    """A self-signed SM2/SM3 certificate, made once by the machine's OpenSSL 3 and cached."""
    where = cache_root() / "fixtures"
    cert = where / "sm2-selfsigned.pem"
    if not cert.exists():
        where.mkdir(parents=True, exist_ok=True)
        key = where / "sm2.key"
        subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(key)], check=True,
                       capture_output=True)
        tmp = where / "sm2-selfsigned.pem.tmp"
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(key), "-sm3", "-days", "3650",
                        "-subj", "/CN=sm2.payments.example", "-sigopt", "distid:1234567812345678",
                        "-out", str(tmp)], check=True, capture_output=True)
        tmp.replace(cert)
    return Path(cert).read_bytes()


OPENSSL_CNF = """# OpenSSL configuration with ShangMi defaults (as a bank's TLCP gateway host keeps it)
openssl_conf = openssl_init

[openssl_init]
alg_section = evp_properties

[evp_properties]

[req]
default_md = sm3
distinguished_name = req_dn

[req_dn]

[tlcp_gateway]
CipherString = ECC-SM2-WITH-SM4-SM3
sig_algs = SM2+SM3
"""


def centos8_sm_spec() -> HostSpec:
    spec = centos8.bdb_spec()
    files = dict(spec.files)
    files["/etc/pki/tls/openssl.cnf"] = OPENSSL_CNF
    files["/etc/pki/tls/certs/sm2-gateway.pem"] = sm2_certificate()
    tongsuo = Pkg(name="tongsuo", version="8.3.2", release="1.el8", vendor="Tongsuo Project",
                  packager="payments platform team", license="ASL 2.0",
                  summary="Tongsuo cryptography library (SM2/SM3/SM4, TLCP)",
                  files={"/opt/tongsuo/bin/tongsuo": "#!/bin/sh\n# stand-in for the tongsuo binary\n"},
                  modes={"/opt/tongsuo/bin/tongsuo": "0755"}, sign_key=None, buildtime=1672531200)
    return HostSpec(name="centos8-sm", packages=list(spec.packages) + [tongsuo], files=files,
                    rpmdb=spec.rpmdb, import_keys=spec.import_keys, buildtime=spec.buildtime,
                    buildhost=spec.buildhost,
                    description="CentOS Linux 8.5 host using SM2/SM3/SM4 (OpenSSL config, SM2 certificate, Tongsuo)")


# Names to register in tests/hosts/__init__.py HOSTS (the tests build them directly until then).
HOSTS = {"centos7-cilium": centos7_cilium_spec, "centos8-sm": centos8_sm_spec}
