"""The plan for a real host (root /): argv built from the manifest, nothing run."""
from migrate.manifests import load_manifest
from migrate.plan.runner import LocalRunner
from migrate.plan.steps import Context, build_plan, duplicates, nevra, parse_qa


def test_host_plan_uses_manifest_repos_and_no_installroot():
    # root / of this (Debian) machine, read only: which backup paths exist decides the cp commands
    ctx = Context(root="/", target=load_manifest("opencloudos-8"), run_id="RUN", runner=LocalRunner())
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
    assert ctx.env() == {"PYTHONUNBUFFERED": "1"}      # no private HOME on a real host
    assert [s.id for s in steps if s.point_of_no_return] == ["distro-sync"]
    backup = [s for s in steps if s.id == "backup"][0]
    grub = [c for c in backup.commands if c["argv"][0] == "grubby"]
    assert grub == [{"argv": ["grubby", "--default-kernel"], "capture": "backup/grub-default-kernel.txt"}]
    kernel = [s for s in steps if s.id == "kernel"][0]
    assert kernel.dynamic is not None and kernel.dynamic_rollback is not None


def test_duplicates_ignore_installonly_packages():
    installed = {"bash": ["0:4.4-2.el8.x86_64", "0:4.4-2.oc8.x86_64"], "kernel": ["0:4.18-1.x86_64", "0:5.4-1.x86_64"],
                 "gpg-pubkey": ["0:a-b.(none)", "0:c-d.(none)"], "tzdata": ["0:2022a-1.noarch"]}
    assert duplicates(installed) == ["bash"]


def test_parse_qa_and_nevra():
    installed, vendors = parse_qa("bash\t0:4.4-2.el8.x86_64\tCentOS\ngpg-pubkey\t0:8483c65d-5ccc5b19.(none)\t\n"
                                  "kernel\t0:4.18-1.el8.x86_64\tCentOS\nkernel\t0:4.18-2.el8.x86_64\tCentOS\n")
    assert installed["kernel"] == ["0:4.18-1.el8.x86_64", "0:4.18-2.el8.x86_64"] and vendors["bash"] == "CentOS"
    assert nevra("gpg-pubkey", installed["gpg-pubkey"][0]) == "gpg-pubkey-8483c65d-5ccc5b19"
    assert nevra("bash", "2:1.0-1.x86_64") == "bash-2:1.0-1.x86_64"


class RecordedHost(LocalRunner):
    """rpm -qa answers recorded from the swap test host after the kernel step; files in memory."""
    QA_AFTER = ("kernel\t0:4.18.0-348.7.1.el8_5.x86_64\tCentOS\nkernel\t0:5.4.119-19.0010.oc8.x86_64\tOpenCloudOS\n"
                "bash\t0:4.4.20-2.oc8.x86_64\tOpenCloudOS\n")

    def __init__(self, files):
        self.files = files
        self.ran = []

    def run(self, argv, env=None, timeout=None, watch=None):
        from migrate.plan.runner import Result
        self.ran.append(argv)
        return Result(list(argv), 0, self.QA_AFTER)

    def read_bytes(self, path):
        return self.files.get(path)


def test_live_host_kernel_step_sets_the_new_kernel_default_and_rollback_restores_the_old():
    from migrate.plan.steps import _kernel_default, _rollback_kernel
    files = {"/var/lib/migrate/RUN/backup/rpm-qa.txt": b"kernel\t0:4.18.0-348.7.1.el8_5.x86_64\tCentOS\n",
             "/var/lib/migrate/RUN/backup/grub-default-kernel.txt": b"/boot/vmlinuz-4.18.0-348.7.1.el8_5.x86_64\n"}
    host = RecordedHost(files)
    ctx = Context(root="/", target=load_manifest("opencloudos-8"), run_id="RUN", runner=host)
    entry = {}
    assert _kernel_default(ctx, host, entry) == [
        {"argv": ["grubby", "--set-default", "/boot/vmlinuz-5.4.119-19.0010.oc8.x86_64"]}]
    undo = _rollback_kernel(ctx, host, entry)
    assert undo[0] == {"argv": ["grubby", "--set-default", "/boot/vmlinuz-4.18.0-348.7.1.el8_5.x86_64"]}
    assert undo[1]["argv"][-1] == "kernel-5.4.119-19.0010.oc8.x86_64" and "-e" in undo[1]["argv"]
    # an installroot has no bootloader: nothing for grubby
    ctx_root = Context(root="/mnt/image", target=ctx.target, run_id="RUN", runner=host)
    assert _kernel_default(ctx_root, host, {}) == []
