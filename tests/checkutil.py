"""Shared helpers for the per-area check tests: run one check, index its findings,
and facts of the real test hosts (import the fixtures into a test module to use them)."""
import pytest

from factsutil import facts_for_root
from migrate.engine import discover_checks, run_check

CHECKS = {c.id: c for c in discover_checks().checks}


def run(check_id, facts, manifest):
    return run_check(CHECKS[check_id], facts, manifest)


def by_id(result):
    return {f.id: f for f in result.findings}


@pytest.fixture(scope="module")
def k8s(built_hosts):
    return facts_for_root(built_hosts("centos8-k8s").root)


@pytest.fixture(scope="module")
def c7(built_hosts):
    return facts_for_root(built_hosts("centos7-minimal").root)
