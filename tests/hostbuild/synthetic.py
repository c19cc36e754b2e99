"""synthetic_host(): a large, realistic-looking host for benchmarks.

Names come from a fixed vocabulary combined the way EL packages are named
(`lib<x>`, `<x>-libs`, `<x>-devel`, `python3-<x>`, `perl-<X>-<Y>`, ...);
subpackages share a source package like on a real distribution. Every package
owns at least one small file; some own kernel modules under /lib/modules or
config files under /etc. Deterministic for a given (n_packages, seed).
"""

import random
from typing import List, Optional

from .model import HostSpec, Pkg

_WORDS = (
    "acl attr audit augeas bash bind binutils bzip2 ca chrony coreutils cpio cracklib cronie curl "
    "cyrus dbus device dhcp diffutils dmidecode dnf dracut e2fsprogs elfutils ethtool expat file "
    "findutils firewalld freetype gawk gdbm glib glibc gmp gnupg gnutls gpgme grep groff grub gzip "
    "hdparm hostname hwdata info iproute iptables iputils irqbalance jansson json kbd keyutils kmod "
    "krb5 less libarchive libcap libcom libdb libffi libgcc libidn libmnl libnl libpcap libpsl "
    "libseccomp libselinux libsemanage libsepol libssh libtasn1 libuser libxml2 libyaml logrotate "
    "lua lvm2 lz4 lzo man mdadm microcode mpfr ncurses net nettle newt nftables nspr nss numactl "
    "openldap openssh openssl p11 pam parted passwd pciutils pcre pigz pinentry policycoreutils "
    "polkit popt procps psmisc python3 qemu readline rpm rsync sed selinux setup shadow snappy "
    "sqlite squashfs sssd sudo systemd tar teamd tuned tzdata unbound usbutils util vim which "
    "xfsprogs xz yum zlib zstd apr aspell boost cairo cups fontconfig gcc gettext git gtk harfbuzz "
    "httpd java jq libpng libjpeg libtiff libusb libwebp mariadb nginx nodejs pango perl php "
    "postgresql redis ruby samba subversion tcl tk tomcat valgrind wget xorg zip unzip"
).split()
_SUFFIXES = ("", "-libs", "-devel", "-common", "-tools", "-utils", "-doc", "-data")
_PERL = ("Carp Data Digest Encode Exporter File Getopt HTTP IO JSON List MIME Net Params Pod "
         "Scalar Socket Storable Term Text Time Unicode URI XML YAML").split()


def _version(rng: random.Random) -> str:
    return "%d.%d.%d" % (rng.randint(0, 9), rng.randint(0, 40), rng.randint(0, 20))


def synthetic_packages(n_packages: int, seed: int = 0, dist: str = "el8",
                       kernel: str = "4.18.0-348.7.1.el8_5.x86_64", vendor: str = "CentOS",
                       packager: str = "CentOS Buildsys <bugs@centos.org>",
                       sign_key: Optional[str] = "centos8") -> List[Pkg]:
    rng = random.Random(seed)
    pkgs: List[Pkg] = []
    used = set()
    serial = 0
    while len(pkgs) < n_packages:
        serial += 1
        word = rng.choice(_WORDS)
        style = rng.random()
        if style < 0.12:
            base = "perl-%s-%s" % (rng.choice(_PERL), rng.choice(_PERL))
        elif style < 0.25:
            base = "python3-%s" % word
        elif style < 0.35:
            base = "lib%s" % word if not word.startswith("lib") else word
        else:
            base = word
        if base in used:
            base = "%s%d" % (base, serial)
        used.add(base)
        version = _version(rng)
        release = "%d.%s" % (rng.randint(1, 30), dist if rng.random() < 0.8 else dist + "_5")
        epoch = rng.choice((None,) * 8 + (1, 2))
        n_sub = min(rng.choice((1, 1, 2, 3, 4)), n_packages - len(pkgs))
        source = "%s-%s-%s" % (base, version, release)
        for suffix in _SUFFIXES[:n_sub]:
            name = base + suffix
            arch = "noarch" if suffix in ("-doc", "-data", "-common") or base.startswith(("perl-", "python3-")) else "x86_64"
            files = {"/usr/share/%s/README" % name: "%s %s\n" % (name, version)}
            r = rng.random()
            if suffix == "" and r < 0.06:
                arch = "x86_64"
                files["/lib/modules/%s/extra/%s/%s.ko.xz" % (kernel, base, base.replace("-", "_"))] = (
                    b"\xfd7zXZ\x00fake-module-" + base.encode())
            elif suffix == "" and r < 0.25:
                files["/etc/%s/%s.conf" % (base, base)] = "# %s configuration\nenabled=1\n" % base
            elif suffix in ("", "-tools", "-utils") and r < 0.6:
                files["/usr/bin/%s" % name] = "#!/bin/sh\necho %s\n" % name
            pkgs.append(Pkg(
                name=name, version=version, release=release, epoch=epoch, arch=arch,
                vendor=vendor, packager=packager, summary="The %s package" % name,
                license=rng.choice(("GPLv2+", "LGPLv2+", "MIT", "BSD", "ASL 2.0", "GPLv3+")),
                files=files, modes={p: "0755" for p in files if p.startswith("/usr/bin/")},
                sign_key=sign_key, source=source))
    return pkgs


def synthetic_host(n_packages: int, seed: int = 0, name: Optional[str] = None,
                   rpmdb: str = "sqlite", sign_key: Optional[str] = "centos8",
                   **kwargs) -> HostSpec:
    """A HostSpec with `n_packages` realistic-looking packages (see module doc)."""
    pkgs = synthetic_packages(n_packages, seed=seed, sign_key=sign_key, **kwargs)
    return HostSpec(
        name=name or "synthetic-%d-s%d" % (n_packages, seed),
        packages=pkgs, rpmdb=rpmdb, buildhost="x86-02.mbox.centos.org",
        files={"/etc/hostname": "bench-%d.example.internal\n" % n_packages,
               "/etc/machine-id": "%032x\n" % random.Random(seed).getrandbits(128)},
        description="synthetic benchmark host with %d packages" % n_packages)
