"""The host HTML report: content from real envelopes, escaping of hostile host data, and the
page loaded in Debian's headless Chromium (no console errors, no network requests, the
verdict first, sorting/filtering with JS and a plain table without). Screenshots go to
tests/.cache/artifacts/."""
from __future__ import annotations

import copy
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any, Dict

import pytest
from markupsafe import escape

from browser import Browser, available, browser  # noqa: F401 (fixture)
from conftest import REPO
from migrate.reports.html_report import render_host_html
from test_reports_json import example_envelope, host_envelope

ARTIFACTS = REPO / "tests" / ".cache" / "artifacts"
DOCS = REPO / "docs"

PAYLOAD = ('<script>document.title="pwned";window.__xss=1;console.error("xss")</script>'
           '"onload="window.__xss=2" \'><img src=x onerror="document.title=\'pwned\';window.__xss=3">'
           '</style><style>body{display:none}</style></script><!-- \u2028\u2029 &amp; ]]>')


def write(tmp_path: Path, name: str, html: str) -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


def assert_self_contained(html: str) -> None:
    """No URL the page could fetch: no src/href/url() to anything but in-page anchors."""
    assert not re.search(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?(?!#)[a-z]+:""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "Content-Security-Policy" in html and "default-src &#39;none&#39;" in html


def load(browser, tmp_path: Path, name: str, html: str, **kwargs: Any):
    page = browser.load(write(tmp_path, name, html), **kwargs)
    return page


# -- content ------------------------------------------------------------------------------

def test_blocked_report_shows_verdict_first_then_blockers_with_commands():
    report = example_envelope("anolis-7")
    html = render_host_html(report)
    assert_self_contained(html)
    body = html.split("<main>", 1)[1]
    assert body.index('id="verdict"') < body.index('id="blockers"') < body.index('id="findings"')
    assert 'data-verdict="blocked"' in html and ">Blocked<" in html
    blocker = [f for f in report["findings"] if f["id"] == "system.migration_downgrade"][0]
    assert "migrate targets list" in html
    assert blocker["title"].replace(">", "&gt;") in html
    assert 'id="path"' in html and "go back a major release" in html


def test_incomplete_report_says_what_was_not_assessed():
    report = example_envelope("opencloudos-8")
    assert report["summary"]["complete"] is False
    html = render_host_html(report)
    assert 'id="incomplete"' in html and 'id="not-assessed"' in html
    skipped = [c for c in report["checks"] if c["status"] == "skipped"]
    assert skipped
    for check in skipped:
        assert "check %s" % check["id"] in html
    report["summary"]["complete"] = True
    report["checks"] = [c for c in report["checks"] if c["status"] not in ("skipped", "error")]
    assert 'id="incomplete"' not in render_host_html(report)


def test_every_check_status_and_reason_is_listed():
    report = example_envelope("opencloudos-8")
    html = render_host_html(report)
    for check in report["checks"]:
        assert 'class="mono">%s<' % check["id"] in html
        assert 'data-status="%s"' % check["status"] in html
        assert str(escape(check["reason"])) in html


def test_kernel_diff_and_sm_matrix_not_assessed_when_absent_and_rendered_when_present():
    report = example_envelope()
    report.pop("kernel_diff", None)
    report.pop("sm_matrix", None)
    html = render_host_html(report)
    assert 'data-not-assessed="kernel_diff"' in html and 'data-not-assessed="sm_matrix"' in html
    report["kernel_diff"] = {"source": "4.18.0-348", "target": "5.4.119",
                             "options": [{"option": "CONFIG_BPF_LSM", "source": "n", "target": "y"},
                                         {"option": "CONFIG_NFT_COMPAT", "source": "m", "target": None,
                                          "note": "unknown in the target config"}]}
    report["sm_matrix"] = {"kernel": {"SM2": "yes", "SM3": "yes", "SM4": "module"},
                           "openssl": {"SM2": True, "SM3": True, "SM4": None},
                           "libgcrypt": {"SM3": "no"}}
    html = render_host_html(report)
    assert "data-not-assessed" not in html
    assert "CONFIG_BPF_LSM" in html and "unknown in the target config" in html
    sm = html.split('id="sm"', 1)[1].split("</section>", 1)[0]
    assert sm.count("<tr>") >= 4 and ">libgcrypt<" in sm and 'class="bad">no<' in sm
    assert 'class="muted">unknown<' in sm


def test_structured_kernel_diff_and_sm_matrix_of_the_real_envelope():
    report = example_envelope()
    kernel, sm = report.get("kernel_diff"), report.get("sm_matrix")
    if not (isinstance(kernel, dict) and "capabilities" in kernel and isinstance(sm, dict)
            and "layers" in sm):
        pytest.skip("this envelope has no structured kernel_diff/sm_matrix")
    html = render_host_html(report)
    table = html.split('id="kernel-capabilities"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == len(kernel["capabilities"]) + 1
    lost = [c for c in kernel["capabilities"] if c["change"] == "lost"]
    assert "%d lost" % len(lost) in html
    matrix = html.split('id="sm-matrix"', 1)[1].split("</table>", 1)[0]
    assert matrix.count("<tr>") == len(sm["layers"]) + 1
    report["kernel_diff"] = {"error": "KeyError: 'x'"}
    html = render_host_html(report)
    assert "could not be computed: KeyError" in html


def test_remediation_commands_are_shell_quoted_for_display():
    report = example_envelope("anolis-7")
    blocker = [f for f in report["findings"] if f["severity"] == "blocker"][0]
    argv = ["dnf", "remove", "-y", "pkg with space", "it's", "$(reboot)"]
    blocker["remediation"]["commands"] = [argv]
    html = render_host_html(report)
    assert str(escape(shlex.join(argv))) in html
    assert shlex.split(shlex.join(argv)) == argv


def test_report_without_facts_or_optional_parts_still_renders():
    report = example_envelope()
    report.pop("facts")
    report["source"] = None
    report["unused_waivers"] = [{"id": "x.y", "reason": "CHG-1", "subject": None}]
    html = render_host_html(report)
    assert "written without facts" in html and "unknown source" in html and "CHG-1" in html


def hostile(report: Dict[str, Any]) -> Dict[str, Any]:
    """The envelope with PAYLOAD in every string a host controls."""
    report = copy.deepcopy(report)
    report["host"]["hostname"] = "web01" + PAYLOAD
    report["host"]["root"] = "/mnt/" + PAYLOAD
    for pkg in report["facts"]["packages"][:5]:
        pkg["name"] = pkg["name"] + PAYLOAD
        pkg["vendor"] = PAYLOAD
    report["facts"]["packages"][0]["nevra"] = PAYLOAD
    report["facts"]["pkgmgr"]["origins"] = {PAYLOAD: PAYLOAD}
    for repo in report["facts"]["repos"]["repos"][:3]:
        repo["id"] = repo["id"] + PAYLOAD
        repo["file"] = "/etc/yum.repos.d/" + PAYLOAD
        repo["expanded"]["baseurl"] = ["javascript:alert(1)//" + PAYLOAD]
    report["facts"]["kernel"]["cmdline"] = PAYLOAD
    for finding in report["findings"]:
        finding["subjects"] = [PAYLOAD] + finding["subjects"]
        finding["summary"] += PAYLOAD
        finding["remediation"]["commands"] = [["dnf", "remove", PAYLOAD]]
        finding["links"] = ["javascript:alert(1)"]
    for check in report["checks"]:
        check["reason"] = check["reason"] + PAYLOAD
    kernel, sm = report.get("kernel_diff"), report.get("sm_matrix")
    if isinstance(kernel, dict) and kernel.get("capabilities"):  # the structured views
        kernel["capabilities"][0]["title"] = PAYLOAD
        kernel["capabilities"][0]["source"]["evidence"] = PAYLOAD
        kernel["capabilities"][0]["target"]["status"] = PAYLOAD
        kernel["source"]["label"] = PAYLOAD
        kernel["cilium"] = [{PAYLOAD: PAYLOAD}]
    else:
        report["kernel_diff"] = {PAYLOAD: [{PAYLOAD: PAYLOAD}], "x": {"a": {PAYLOAD: PAYLOAD}}}
    if isinstance(sm, dict) and "layers" in sm:
        sm["layers"][PAYLOAD] = ["sm2"]
        sm["source"][PAYLOAD] = {"sm2": {"status": PAYLOAD, "evidence": PAYLOAD}}
        sm["usage"] = [{PAYLOAD: PAYLOAD}]
    else:
        report["sm_matrix"] = {PAYLOAD: {"SM2": PAYLOAD}, "b": {"SM3": "yes"}}
    return report


def test_hostile_strings_are_escaped_in_the_markup():
    html = render_host_html(hostile(example_envelope("anolis-7")))
    assert PAYLOAD not in html
    for raw in ("<script>document", "<img src=x", "</style><style>", '"onload="', "<!-- "):
        assert raw not in html
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert html.count("<style>") == 1
    data = html.split('<script type="application/json" id="migrate-summary">', 1)[1].split("</script>")[0]
    assert "<" not in data and ">" not in data and "&" not in data
    assert "\u2028" not in data and "\u2029" not in data
    assert json.loads(data)["host"] == "web01" + PAYLOAD


# -- in the browser ---------------------------------------------------------------------------

def test_host_reports_in_the_browser(browser, tmp_path):
    for target in ("opencloudos-8", "anolis-7"):
        report = example_envelope(target)
        page = load(browser, tmp_path, "%s.html" % target, render_host_html(report))
        assert page.errors() == []
        assert page.requests == []
        assert page.evaluate("document.documentElement.dataset.js") == "ready"
        verdict = page.evaluate("(() => { const v = document.getElementById('verdict');"
                                " const r = v.getBoundingClientRect();"
                                " return [v.dataset.verdict, r.top, v.innerText]; })()")
        assert verdict[0] == report["summary"]["verdict"]
        assert verdict[1] < 200  # on the first screen, under the title
        page.screenshot(ARTIFACTS / ("host-%s.png" % target))
        page.close()


def test_packages_table_sorts_and_filters_with_js(browser, tmp_path):
    report = example_envelope()
    page = load(browser, tmp_path, "sort.html", render_host_html(report))
    total = len(report["facts"]["packages"])
    assert page.evaluate("document.querySelectorAll('#packages tbody tr').length") == total
    names = page.evaluate("""(() => {
        document.getElementById('packages-section').open = true;
        const th = document.querySelector('#packages thead th button');
        th.click(); th.click();
        return Array.from(document.querySelectorAll('#packages tbody tr td:first-child'))
                    .map(td => td.textContent); })()""")
    assert names == sorted(names, key=lambda n: n.lower(), reverse=True) or names[0] > names[-1]
    sizes = page.evaluate("""(() => {
        document.querySelectorAll('#packages thead th button')[6].click();
        return Array.from(document.querySelectorAll('#packages tbody tr td:last-child'))
                    .map(td => Number(td.dataset.sort)); })()""")
    assert sizes == sorted(sizes)
    shown = page.evaluate("""(() => {
        const box = document.querySelector('[data-filter-for=packages]');
        const input = box.querySelector('input');
        input.value = 'docker-ce'; input.dispatchEvent(new Event('input'));
        return [box.hidden, Array.from(document.querySelectorAll('#packages tbody tr'))
                .filter(r => !r.hidden).map(r => r.cells[0].textContent),
                box.querySelector('[data-count]').textContent]; })()""")
    assert shown[0] is False
    expected = sorted(p["name"] for p in report["facts"]["packages"] if "docker-ce" in p["name"])
    assert sorted(shown[1]) == expected and shown[2].startswith("%d of %d" % (len(expected), total))
    assert page.errors() == []
    page.close()


def test_without_javascript_the_tables_are_plain_and_complete(browser, tmp_path):
    report = example_envelope()
    page = load(browser, tmp_path, "nojs.html", render_host_html(report), javascript=False)
    assert page.evaluate("document.documentElement.dataset.js === undefined") is True
    rows = page.evaluate("document.querySelectorAll('#packages tbody tr:not([hidden])').length")
    assert rows == len(report["facts"]["packages"])
    assert page.evaluate("document.querySelector('[data-filter-for=packages]').hidden") is True
    assert page.evaluate("Array.from(document.querySelectorAll('button.copy')).every(b => b.hidden)")
    page.close()


def test_hostile_host_data_executes_nothing_in_the_browser(browser, tmp_path):
    report = hostile(example_envelope("anolis-7"))
    page = load(browser, tmp_path, "hostile.html", render_host_html(report))
    assert page.errors() == []  # no console.error from a payload, no CSP violation report
    assert page.requests == []  # no <img src=x> fetched
    state = page.evaluate("""(() => ({
        title: document.title,
        xss: typeof window.__xss,
        scripts: document.scripts.length,
        handlers: Array.from(document.querySelectorAll('*')).flatMap(
            e => Array.from(e.attributes).map(a => a.name)).filter(n => n.startsWith('on')),
        imgs: document.images.length,
        styles: document.querySelectorAll('style').length,
        hidden: getComputedStyle(document.body).display,
        host: document.getElementById('hostname').textContent,
        summary: JSON.parse(document.getElementById('migrate-summary').textContent).host,
        jsLinks: Array.from(document.querySelectorAll('a[href]')).filter(
            a => !a.getAttribute('href').startsWith('#')).length}))()""")
    assert state["xss"] == "undefined"
    assert state["title"] != "pwned" and state["title"].startswith("web01<script>document.title=")
    assert state["scripts"] == 2 and state["handlers"] == [] and state["imgs"] == 0
    assert state["styles"] == 1 and state["hidden"] != "none" and state["jsLinks"] == 0
    assert state["host"] == "web01" + PAYLOAD and state["summary"] == "web01" + PAYLOAD
    page.screenshot(ARTIFACTS / "host-hostile.png")
    page.close()


def test_report_prints(browser, tmp_path):
    page = load(browser, tmp_path, "print.html", render_host_html(example_envelope("anolis-7")))
    pdf = page.send("Page.printToPDF", printBackground=True)["data"]
    assert len(pdf) > 1000
    page.send("Emulation.setEmulatedMedia", media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    page.close()


@pytest.mark.integration
def test_test_host_report_in_the_browser(browser, built_hosts, tmp_path):
    from hosts.targets import opencloudos8_repo
    report = host_envelope(built_hosts, "centos8-k8s", "opencloudos-8",
                           "--target-repo", str(opencloudos8_repo()))
    html = render_host_html(report)
    assert_self_contained(html)
    page = load(browser, tmp_path, "k8s.html", html)
    assert page.errors() == [] and page.requests == []
    assert page.evaluate("document.getElementById('verdict').dataset.verdict") == \
        report["summary"]["verdict"]
    assert page.evaluate("document.querySelectorAll('#packages tbody tr').length") == \
        len(report["facts"]["packages"])
    page.screenshot(ARTIFACTS / "host-centos8-k8s.png")
    page.close()


def test_readme_screenshot(browser, tmp_path):
    """The README's docs/report-host.png: the example host, first screen. Written to the
    artifacts; copied to docs/ with MIGRATE_UPDATE_SCREENSHOTS=1."""
    report = example_envelope("opencloudos-8")
    page = load(browser, tmp_path, "readme.html", render_host_html(report), width=1100, height=800)
    assert page.errors() == []
    shot = page.screenshot(ARTIFACTS / "readme-host.png", width=1100, height=800)
    if os.environ.get("MIGRATE_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        (DOCS / "report-host.png").write_bytes(shot.read_bytes())
    page.close()
