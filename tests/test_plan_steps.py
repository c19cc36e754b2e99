"""The plan for a real host (root /): argv built from the manifest, nothing run."""
from migrate.manifests import load_manifest
from migrate.plan.steps import Context, build_plan, nevra, parse_qa


def test_host_plan_uses_manifest_repos_and_no_installroot():
    ctx = Context(root="/", target=load_manifest("opencloudos-8"), run_id="RUN")
    ctx.installed = {"centos-linux-release": ["0:8.5-1.2111.el8.noarch"], "centos-logos": ["0:85.8-2.el8.x86_64"]}
    steps = build_plan(ctx)
    swap = [s for s in steps if s.id == "swap-release"][0]
    argv = swap.commands[0]["argv"]
    assert argv[:2] == ["dnf", "-y"] and not any(a.startswith("--installroot") for a in argv)
    assert "--setopt=reposdir=/etc/yum.repos.d" in argv and "--noplugins" in argv and "--releasever=8" in argv
    assert "--repo=BaseOS" in argv and "--repo=AppStream" in argv and "--nogpgcheck" not in argv
    assert argv[-3:] == ["swap", "centos-linux-release", "opencloudos-release"]
    rb = swap.rollback[0]["argv"]
    assert "--setopt=reposdir=/var/lib/migrate/RUN/backup/files/etc/yum.repos.d" in rb
    text = ctx.repo_text()
    assert "[BaseOS]" in text and "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-OpenCloudOS" in text
    assert ctx.env() == {}      # no private HOME on a real host
    assert [s.id for s in steps if s.point_of_no_return] == ["distro-sync"]


def test_parse_qa_and_nevra():
    installed, vendors = parse_qa("bash\t0:4.4-2.el8.x86_64\tCentOS\ngpg-pubkey\t0:8483c65d-5ccc5b19.(none)\t\n"
                                  "kernel\t0:4.18-1.el8.x86_64\tCentOS\nkernel\t0:4.18-2.el8.x86_64\tCentOS\n")
    assert installed["kernel"] == ["0:4.18-1.el8.x86_64", "0:4.18-2.el8.x86_64"] and vendors["bash"] == "CentOS"
    assert nevra("gpg-pubkey", installed["gpg-pubkey"][0]) == "gpg-pubkey-8483c65d-5ccc5b19"
    assert nevra("bash", "2:1.0-1.x86_64") == "bash-2:1.0-1.x86_64"
