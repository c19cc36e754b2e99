"""Named test host specs (see tests/hostbuild for the builder).

    centos7-minimal   CentOS 7.9.2009, 162 packages (real lists), kernel 3.10.0-1160.119.1.el7
    centos8-k8s       CentOS 8.5.2111 Kubernetes node, 335 packages incl. third-party
    centos8-bdb       CentOS 8.5.2111, 60 packages, Berkeley DB rpmdb (Packages + indexes)

`HOSTS` maps each name to a function returning its HostSpec; build one with
`hostbuild.get_host(name)`.
"""

from . import centos7, centos8

HOSTS = {
    "centos7-minimal": centos7.spec,
    "centos8-k8s": centos8.k8s_spec,
    "centos8-bdb": centos8.bdb_spec,
}
