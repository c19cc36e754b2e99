"""Named test host specs (see tests/hostbuild for the builder).

    centos7-minimal   CentOS 7.9.2009, 162 packages (real lists), kernel 3.10.0-1160.119.1.el7
    centos8-k8s       CentOS 8.5.2111 Kubernetes node, 335 packages incl. third-party
    centos8-bdb       CentOS 8.5.2111, 60 packages, Berkeley DB rpmdb (Packages + indexes)
    centos8-traits    CentOS 8.5.2111 installed by real dnf (history.sqlite), one of each
                      package/repo trait the checks look for (centos8_traits.TRAITS)
    centos8-clean     the same build without the traits
    centos7-cilium    centos7-minimal running a Cilium 1.14 agent (images, CNI config, pinned maps)
    centos8-sm        a CentOS 8.5 host using SM crypto (openssl.cnf lines, an SM2 certificate)

`HOSTS` maps each name to a function returning its HostSpec; build one with
`hostbuild.get_host(name)`.
"""

from . import centos7, centos8, centos8_traits, cilium

HOSTS = {
    "centos7-minimal": centos7.spec,
    "centos8-k8s": centos8.k8s_spec,
    "centos8-bdb": centos8.bdb_spec,
    "centos8-traits": centos8_traits.traits_spec,
    "centos8-clean": centos8_traits.clean_spec,
    "centos7-cilium": cilium.centos7_cilium_spec,
    "centos8-sm": cilium.centos8_sm_spec,
}
