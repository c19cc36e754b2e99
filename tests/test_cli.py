"""The command line: exit codes, one-line errors, JSON only on stdout."""
import json

import pytest

from conftest import sample
from migrate import exitcodes

CENTOS8 = {"etc/os-release": None, "etc/centos-release": "CentOS Linux release 8.5.2111\n",
           "etc/yum.repos.d/base.repo": "[baseos]\nname=BaseOS\nbaseurl=http://vault.centos.org/8.5.2111/BaseOS/$basearch/os/\n"}


@pytest.fixture
def centos8_root(make_root):
    files = dict(CENTOS8)
    files["etc/os-release"] = sample("centos8.1.os-release")
    return make_root(files)


def one_line_error(result):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert lines and lines[-1].startswith("migrate: error: "), result
    assert "Traceback" not in result.stderr
    return lines[-1]


def test_version_and_help_document_exit_codes(cli):
    assert cli("--version").stdout.strip() == "migrate 0.1.0"
    help_text = cli("assess", "--help").stdout
    for code in range(6):
        assert "\n  %d  " % code in help_text


def test_unknown_target_is_bad_input(cli, centos8_root):
    result = cli("assess", "--root", str(centos8_root), "--target", "rocky-9")
    assert result.code == exitcodes.BAD_INPUT
    assert "unknown target 'rocky-9'" in one_line_error(result)


def test_root_that_does_not_exist(cli, tmp_path):
    result = cli("assess", "--root", str(tmp_path / "missing"), "--target", "anolis-8")
    assert result.code == exitcodes.BAD_INPUT
    assert "does not exist" in one_line_error(result)


def test_truncated_facts_file(cli, centos8_root, tmp_path):
    facts = cli("collect", "--root", str(centos8_root)).stdout
    cut = tmp_path / "cut.json"
    cut.write_text(facts[:1000])
    result = cli("assess", "--facts", str(cut), "--target", "anolis-8", "--json")
    assert result.code == exitcodes.BAD_INPUT and result.stdout == ""
    assert "malformed JSON" in one_line_error(result)


def test_facts_of_another_schema_version(cli, centos8_root, tmp_path):
    data = json.loads(cli("collect", "--root", str(centos8_root)).stdout)
    data["schema_version"] = 0
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    result = cli("assess", "--facts", str(path), "--target", "anolis-8")
    assert result.code == exitcodes.BAD_INPUT and "schema_version 0" in one_line_error(result)


def test_collect_then_assess_facts_equals_assess_root(cli, centos8_root, tmp_path):
    out = tmp_path / "host.facts.json"
    assert cli("collect", "--root", str(centos8_root), "-o", str(out)).code == exitcodes.OK
    from_file = cli("assess", "--facts", str(out), "--target", "opencloudos-8", "--json").json()
    from_root = cli("assess", "--root", str(centos8_root), "--target", "opencloudos-8", "--json").json()
    assert from_file["findings"] == from_root["findings"]
    assert [c["status"] for c in from_file["checks"]] == [c["status"] for c in from_root["checks"]]


def test_json_goes_to_stdout_and_logs_to_stderr(cli, centos8_root, tmp_path):
    result = cli("assess", "--root", str(centos8_root), "--target", "opencloudos-8", "--json",
                 "--allow-incomplete")
    report = result.json()  # stdout is nothing but the JSON document
    assert result.code == exitcodes.OK
    assert report["summary"]["blockers"] == 0 and report["summary"]["complete"] is False
    assert report["source"]["label"] == "CentOS Linux 8.5"
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["system.migration_path"] == "findings"
    assert statuses["system.source_supported"] == "passed"


def test_unassessed_package_availability_is_incomplete_unless_allowed(cli, centos8_root):
    """No target repo metadata: the availability check is skipped, never guessed."""
    result = cli("assess", "--root", str(centos8_root), "--target", "opencloudos-8", "--json")
    assert result.code == exitcodes.INCOMPLETE
    check = [c for c in result.json()["checks"] if c["id"] == "packages.target_availability"][0]
    assert check["status"] == "skipped"
    allowed = cli("assess", "--root", str(centos8_root), "--target", "anolis-7", "--allow-incomplete")
    assert allowed.code == exitcodes.BLOCKERS and "INCOMPLETE" in allowed.stdout


def test_blockers_exit_3_and_report_file_is_written(cli, centos8_root, tmp_path):
    out = tmp_path / "r.json"
    result = cli("assess", "--root", str(centos8_root), "--allow-incomplete", "--target", "anolis-7", "-o", str(out))
    assert result.code == exitcodes.BLOCKERS
    report = json.loads(out.read_text())
    assert [f["id"] for f in report["findings"] if f["severity"] == "blocker"] == ["system.migration_downgrade"]
    assert "BLOCKED" in result.stdout


def test_waiver_downgrades_a_blocker(cli, centos8_root, tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - id: system.migration_downgrade\n    reason: test\n")
    result = cli("assess", "--root", str(centos8_root), "--allow-incomplete", "--target", "anolis-7", "--json",
                 "--waivers", str(waivers))
    assert result.code == exitcodes.OK
    assert result.json()["summary"]["waived"] == 1


def test_bad_waiver_file(cli, centos8_root, tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers: [ {id: x.y\n")
    result = cli("assess", "--root", str(centos8_root), "--target", "anolis-8", "--waivers", str(waivers))
    assert result.code == exitcodes.BAD_INPUT and "not valid YAML" in one_line_error(result)


def test_warnings_exit_4_only_with_fail_on_warning(cli, make_root):
    root = make_root({"etc/os-release": sample("centos8.1.os-release"),
                      "etc/centos-release": sample("centos8.1.centos-release")})
    assert cli("assess", "--root", str(root), "--target", "anolis-8", "--allow-incomplete").code == exitcodes.OK
    result = cli("assess", "--root", str(root), "--target", "anolis-8", "--fail-on", "warning",
                 "--allow-incomplete")
    assert result.code == exitcodes.WARNINGS


def test_garbage_repo_file_makes_the_result_incomplete(cli, centos8_root):
    (centos8_root / "etc/yum.repos.d/broken.repo").write_bytes(b"\xff\xfe garbage [[[\n")
    result = cli("assess", "--root", str(centos8_root), "--target", "opencloudos-8", "--json")
    assert result.code == exitcodes.INCOMPLETE
    report = result.json()
    assert report["summary"]["complete"] is False
    assert report["summary"]["failed_probes"]["repos"]["status"] == "error"
    assert "broken.repo" in result.stderr


def test_missing_os_release_and_release_files_is_a_blocker(cli, make_root):
    root = make_root({"etc/hostname": "bare\n"})
    result = cli("assess", "--root", str(root), "--allow-incomplete", "--target", "anolis-8", "--json")
    assert result.code == exitcodes.BLOCKERS
    blockers = [f["id"] for f in result.json()["findings"] if f["severity"] == "blocker"]
    assert blockers == ["system.source_unrecognised"]


def test_unsupported_output_format_is_rejected_before_collecting(cli, centos8_root, tmp_path):
    result = cli("assess", "--root", str(centos8_root), "--target", "anolis-8", "-o",
                 str(tmp_path / "r.pdf"))
    assert result.code == exitcodes.BAD_INPUT and not (tmp_path / "r.pdf").exists()


def test_output_into_missing_directory_is_one_line(cli, centos8_root, tmp_path):
    result = cli("collect", "--root", str(centos8_root), "-o", str(tmp_path / "no" / "f.json"))
    assert result.code == exitcodes.BAD_INPUT and "does not exist" in one_line_error(result)


def test_debug_shows_the_traceback(cli, tmp_path):
    result = cli("--debug", "assess", "--facts", str(tmp_path / "none.json"), "--target", "anolis-8")
    assert result.code == exitcodes.BAD_INPUT and "Traceback" in result.stderr


def test_lists(cli):
    targets = cli("targets", "list", "--json").json()["targets"]
    assert [t["id"] for t in targets] == ["anolis-23", "anolis-7", "anolis-8", "opencloudos-8",
                                          "opencloudos-9", "tencentos-3"]
    checks = cli("checks", "list", "--json").json()
    assert checks["errors"] == [] and {c["id"] for c in checks["checks"]} >= {"system.source_supported"}


def test_the_bundled_example_host_assesses_cleanly(cli):
    """examples/centos8-k8s.facts.json is what scripts/demo.sh assesses (scripts/make-example)."""
    from conftest import REPO
    result = cli("assess", "--facts", str(REPO / "examples" / "centos8-k8s.facts.json"),
                 "--target", "opencloudos-8", "--json", "--allow-incomplete")
    assert result.code == exitcodes.BLOCKERS, result  # the ELRepo kmod and the DKMS module
    report = result.json()
    assert report["source"]["label"] == "CentOS Linux 8.5" and report["summary"]["failed_probes"] == {}
    blockers = [f for f in report["findings"] if f["severity"] == "blocker"]
    assert [(f["id"], f["subjects"]) for f in blockers] == [("kmod.out_of_tree_rebuild", ["wireguard", "zfs"])]
    assert report["host"]["hostname"] == "k8s-node-01.example.internal"


def test_terminal_summary_is_coloured_on_a_tty_and_plain_otherwise():
    """A real pseudo-terminal for the coloured path; a pipe for the plain one."""
    import os
    import pty
    import subprocess
    import sys
    from conftest import REPO
    argv = [sys.executable, "-m", "migrate", "assess", "--facts",
            str(REPO / "examples" / "centos8-k8s.facts.json"), "--target", "opencloudos-8",
            "--allow-incomplete"]
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    tty_text = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in tty_text and "kmod.out_of_tree_rebuild" in tty_text
    plain = subprocess.run(argv, capture_output=True, text=True)
    assert "\x1b[" not in plain.stdout and "[blocker] kmod.out_of_tree_rebuild" in plain.stdout


def test_kernel_diff_command_text_and_json(cli):
    from conftest import REPO
    example = str(REPO / "examples" / "centos8-k8s.facts.json")
    text = cli("kernel", "diff", "--facts", example, "--target", "opencloudos-9", "--needs", "io_uring")
    assert text.code == exitcodes.OK, text
    data = cli("kernel", "diff", "--facts", example, "--target", "opencloudos-9", "--json",
               "--needs", "cilium=1.16").json()
    assert data["target_id"] == "opencloudos-9"
    assert [r["need"]["kind"] for r in data["cilium"]] == ["cilium"]
    bad = cli("kernel", "diff", "--facts", example, "--target", "opencloudos-9", "--needs", "warp-drive")
    assert bad.code == exitcodes.BAD_INPUT and "warp" in bad.stderr


def test_fleet_scan_is_wired_into_the_cli(cli, tmp_path):
    result = cli("fleet", "scan", "-i", str(tmp_path / "missing.ini"), "--target", "opencloudos-8",
                 "--out", str(tmp_path / "out"))
    assert result.code == exitcodes.BAD_INPUT
    assert "missing.ini" in one_line_error(result)
