"""The report commands end to end through the CLI: -o formats, fleet dashboard, certify."""
import json
import xml.etree.ElementTree as ET

from conftest import REPO
from migrate import exitcodes

EXAMPLE = str(REPO / "examples" / "centos8-k8s.facts.json")


def test_assess_writes_json_html_and_junit_in_one_run(cli, tmp_path):
    outs = [tmp_path / "r.json", tmp_path / "r.html", tmp_path / "r.xml"]
    args = ["assess", "--facts", EXAMPLE, "--target", "opencloudos-8", "--allow-incomplete"]
    for out in outs:
        args += ["-o", str(out)]
    result = cli(*args)
    assert result.code == exitcodes.BLOCKERS, result
    report = json.loads(outs[0].read_text())
    html = outs[1].read_text()
    assert html.startswith("<!DOCTYPE html>") and report["host"]["hostname"] in html
    suite = ET.parse(str(outs[2])).getroot()
    testcases = suite.findall(".//testcase")
    assert len(testcases) == len(report["checks"])
    assert len(suite.findall(".//testcase/failure")) == len(
        {f["check_id"] for f in report["findings"] if f["severity"] == "blocker" and not f["waived"]})


def test_fleet_dashboard_over_a_directory(cli, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    for target in ("opencloudos-8", "anolis-7"):
        cli("assess", "--facts", EXAMPLE, "--target", target, "--allow-incomplete",
            "-o", str(reports / ("k8s-%s.json" % target)))
    (reports / "broken.json").write_text("{not json")
    result = cli("report", "fleet", str(reports), "-o", str(tmp_path / "fleet.html"))
    assert result.code == exitcodes.INCOMPLETE  # one report could not be read
    html = (tmp_path / "fleet.html").read_text()
    assert "broken.json" in html and "kmod.out_of_tree_rebuild" in html


def test_certify_keygen_issue_verify_and_tamper(cli, tmp_path):
    keys = tmp_path / "signer"
    assert cli("certify", "keygen", "-o", str(keys)).code == exitcodes.OK
    cert_html = tmp_path / "cert.html"
    issued = cli("certify", "--facts", EXAMPLE, "--target", "opencloudos-8", "--allow-incomplete",
                 "--key", str(keys) + ".key", "-o", str(cert_html))
    assert issued.code == exitcodes.BLOCKERS, issued  # the certificate records a blocked verdict
    cert_json = tmp_path / "cert.json"
    assert cert_html.exists() and cert_json.exists()
    ok = cli("certify", "verify", str(cert_json), "--pubkey", str(keys) + ".pub")
    assert ok.code == exitcodes.OK, ok
    with_facts = cli("certify", "verify", str(cert_json), "--pubkey", str(keys) + ".pub",
                     "--facts", EXAMPLE)
    assert with_facts.code == exitcodes.OK, with_facts
    cert = json.loads(cert_json.read_text())
    cert["verdict"] = "ready" if cert.get("verdict") != "ready" else "blocked"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(cert))
    bad = cli("certify", "verify", str(tampered), "--pubkey", str(keys) + ".pub")
    assert bad.code == exitcodes.BAD_INPUT and "migrate: error:" in bad.stderr


def test_incomplete_assessment_is_not_certified_without_consent(cli, tmp_path):
    result = cli("certify", "--facts", EXAMPLE, "--target", "opencloudos-8", "-o", str(tmp_path / "c.html"))
    assert result.code != exitcodes.OK and "incomplete" in result.stderr
    assert not (tmp_path / "c.html").exists()
