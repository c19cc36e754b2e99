"""The distribution: a wheel with checks/ and reports/ inside `migrate`, and a py2.7-safe collector."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


# The programs that run with the host's own Python (CentOS 7 python2.7, CentOS 8 platform-python).
HOST_SIDE = ["migrate/collector.py", "migrate/plan/hostagent.py"]


@pytest.mark.parametrize("path", HOST_SIDE)
def test_host_side_program_is_compatible_with_python_2_7_and_3_6(path):
    vermin = str(Path(sys.executable).parent / "vermin")
    proc = subprocess.run([vermin, "-t=2.7-", "-t=3.6-", "--no-tips",
                           "--violations", str(REPO / path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", HOST_SIDE)
def test_host_side_program_imports_only_the_standard_library(path):
    import ast
    tree = ast.parse((REPO / path).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    # `rpm` is the host's own bindings, imported inside a try and optional.
    assert imported - {"rpm"} <= set(sys.stdlib_module_names)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(REPO)], check=True, capture_output=True)
    return next(out.glob("migrate-*.whl"))


def test_wheel_nests_checks_and_reports_inside_migrate(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"migrate", "migrate-0.1.0.dist-info"}
    for expected in ("migrate/checks/system_source_supported.py", "migrate/reports/json_report.py",
                     "migrate/reports/templates/README.md", "migrate/manifests/data/anolis-8.yaml",
                     "migrate/manifests/data/SOURCES.md", "migrate/collector.py"):
        assert expected in names


def test_wheel_installs_into_a_fresh_venv_and_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    str(wheel)], check=True, capture_output=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    installed = {p.name for p in Path(site).iterdir()}
    assert "checks" not in installed and "reports" not in installed
    assert (Path(site) / "migrate" / "checks" / "system_migration_path.py").is_file()
    proc = subprocess.run([str(venv / "bin" / "migrate"), "checks", "list", "--json"],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "system.source_supported" in proc.stdout
