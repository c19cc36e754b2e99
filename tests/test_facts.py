"""The facts model: JSON round trip, schema version, malformed files."""
import json

import pytest

from factsutil import facts_for_root
from migrate.errors import BadInput
from migrate.facts import Facts, load_facts


@pytest.fixture
def plain_root(make_root):
    return make_root({
        "etc/os-release": 'NAME="CentOS Linux"\nID="centos"\nVERSION_ID="8"\n',
        "etc/centos-release": "CentOS Linux release 8.5.2111\n",
        "etc/yum.repos.d/a.repo": "[a]\nname=A\nbaseurl=http://a/$releasever/\n",
        "proc/modules": "xfs 1 0 - Live 0x0\n",
    })


def test_round_trip_is_lossless(plain_root):
    facts = facts_for_root(plain_root)
    again = Facts.from_dict(json.loads(facts.to_json()))
    assert again == facts
    assert again.to_dict() == facts.to_dict()


def test_facts_are_frozen(plain_root):
    facts = facts_for_root(plain_root)
    with pytest.raises(Exception):
        facts.os = None


def test_other_schema_version_is_rejected_in_one_line(plain_root, tmp_path):
    data = facts_for_root(plain_root).to_dict()
    data["schema_version"] = 99
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInput) as info:
        load_facts(str(path))
    assert "schema_version 99" in str(info.value) and "\n" not in str(info.value)


def test_truncated_facts_file_names_file_and_position(plain_root, tmp_path):
    text = facts_for_root(plain_root).to_json()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(BadInput) as info:
        load_facts(str(path))
    assert str(info.value).startswith(str(path) + ": malformed JSON at line 1")


def test_wrong_type_names_the_key_path(plain_root, tmp_path):
    data = facts_for_root(plain_root).to_dict()
    data["repos"]["repos"][0]["enabled"] = "yes"
    with pytest.raises(BadInput) as info:
        Facts.from_dict(data)
    assert str(info.value) == "facts.repos.repos[0].enabled: expected bool, got a string"


def test_unknown_probe_status_is_rejected(plain_root):
    data = facts_for_root(plain_root).to_dict()
    data["probes"]["packages"]["status"] = "fine"
    with pytest.raises(BadInput, match="unknown probe status"):
        Facts.from_dict(data)


def test_unrecorded_probe_counts_as_failed(plain_root):
    facts = facts_for_root(plain_root)
    assert facts.probe("no.such.probe").status == "error"
