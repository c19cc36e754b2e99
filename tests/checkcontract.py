"""The contract every registered check (built-in or plugin) must keep.

Enforced by tests/test_check_contracts.py over whatever `discover_checks()`
finds, and exercised on deliberately broken checks so the contract itself can
fail. Static rules read the check's module source; they complement the
run-time purity test in test_engine.py.
"""
import ast
import inspect
import re
import sys
from typing import List, Set

ID_PATTERN = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*\.[a-z0-9]+(_[a-z0-9]+)*$")
FORBIDDEN_MODULES = {"subprocess", "socket", "paramiko", "urllib", "http", "requests", "ftplib",
                     "shutil", "tempfile", "pty", "multiprocessing"}
FORBIDDEN_CALLS = {"open", "exec", "eval", "compile", "__import__"}
FORBIDDEN_ATTRIBUTES = {"read_text", "read_bytes", "write_text", "write_bytes", "system", "popen",
                        "spawnv", "execv", "execve", "fork", "listdir", "scandir", "walk", "stat",
                        "unlink", "remove", "rename", "mkdir", "urlopen", "load_config_file"}


def module_source(check) -> str:
    module = sys.modules[check.run.__module__]
    return inspect.getsource(module)


def static_violations(source: str) -> List[str]:
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    problems.append("imports %s" % alias.name)
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                problems.append("imports from %s" % node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                problems.append("calls %s()" % func.id)
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRIBUTES:
                problems.append("calls .%s()" % func.attr)
    return problems


def declaration_violations(check, probe_names: Set[str]) -> List[str]:
    problems = []
    if not ID_PATTERN.match(check.id):
        problems.append("id %r does not match area.condition" % check.id)
    if not check.title.strip():
        problems.append("empty title")
    doc = (check.description or "").strip()
    if len(doc) < 40:
        problems.append("no docstring saying what it detects and why")
    for marker in ("Facts:", "Manifest keys:"):
        if marker not in doc:
            problems.append("docstring lacks %r" % marker)
    for probe in check.requires:
        if probe not in probe_names:
            problems.append("requires %r, which no probe records" % probe)
    return problems


def finding_violations(finding) -> List[str]:
    problems = []
    if not ID_PATTERN.match(finding.id):
        problems.append("finding id %r does not match area.condition" % finding.id)
    if finding.severity == "blocker" and not (finding.remediation.hint or finding.remediation.commands):
        problems.append("blocker %s has no remediation" % finding.id)
    for command in finding.remediation.commands:
        if not command or any(not isinstance(arg, str) or not arg for arg in command):
            problems.append("finding %s has an empty or non-string argv" % finding.id)
    if not finding.title.strip() or not finding.summary.strip():
        problems.append("finding %s has no title or summary" % finding.id)
    return problems
