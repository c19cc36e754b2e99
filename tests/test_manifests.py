"""Target manifests: identity, paths, evidence, compiled twins and error messages."""
import glob
import json
import os
import shutil

import pytest
import yaml

from migrate.errors import BadInput
from migrate.manifests import (DATA_DIR, available_targets, compiled_twin, load_manifest,
                               load_manifest_file)

TARGETS = ["anolis-23", "anolis-7", "anolis-8", "opencloudos-8", "opencloudos-9", "tencentos-3"]


def test_the_six_targets_exist():
    assert available_targets() == TARGETS


@pytest.mark.parametrize("target", TARGETS)
def test_every_path_names_evidence_and_a_way_forward(target):
    manifest = load_manifest(target)
    assert manifest.id == target and manifest.os_release.get("evidence")
    sources = {(p.source.distro, p.source.variant, p.source.major) for p in manifest.migration_paths}
    assert sources == {("centos", "linux", 7), ("centos", "linux", 8), ("centos", "stream", 8)}
    for path in manifest.migration_paths:
        assert path.evidence and len(path.way_forward) > 40


@pytest.mark.parametrize("yaml_path", sorted(glob.glob(os.path.join(DATA_DIR, "*.yaml"))))
def test_compiled_twin_is_in_sync_with_its_yaml(yaml_path):
    """Run scripts/compile-manifests after editing a manifest."""
    twin = json.load(open(compiled_twin(yaml_path)))
    assert twin["manifest"] == yaml.safe_load(open(yaml_path))
    assert load_manifest_file(yaml_path) == load_manifest_file(yaml_path, use_compiled=False)


def test_a_stale_twin_is_ignored(tmp_path):
    src = os.path.join(DATA_DIR, "anolis-8.yaml")
    shutil.copy(src, tmp_path / "anolis-8.yaml")
    shutil.copy(compiled_twin(src), tmp_path / "anolis-8.json")
    edited = (tmp_path / "anolis-8.yaml").read_text().replace("name: Anolis OS 8", "name: Anolis OS 8 (edited)")
    (tmp_path / "anolis-8.yaml").write_text(edited)
    assert load_manifest_file(str(tmp_path / "anolis-8.yaml")).name == "Anolis OS 8 (edited)"


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["migration_paths"][0].pop("kind"), "migration_paths[0].kind: missing"),
    (lambda d: d["migration_paths"][1].update(kind="teleport"), "migration_paths[1].kind: 'teleport' is not one of"),
    (lambda d: d["migration_paths"][0]["from"].update(major="8"), "migration_paths[0].from.major: expected int"),
    (lambda d: d.pop("name"), "name: missing"),
])
def test_errors_name_file_and_key_path(tmp_path, mutate, message):
    data = yaml.safe_load(open(os.path.join(DATA_DIR, "anolis-8.yaml")))
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BadInput) as info:
        load_manifest_file(str(path))
    assert str(info.value).startswith(str(path) + ": " + message)


def test_malformed_yaml_is_one_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nmigration_paths: [\n")
    with pytest.raises(BadInput) as info:
        load_manifest_file(str(path))
    assert "not valid YAML" in str(info.value) and "\n" not in str(info.value)
