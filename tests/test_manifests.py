"""Target manifests: schema, evidence, compiled twins, shipped data files and error messages."""
import collections
import copy
import glob
import gzip
import json
import os
import shutil

import pytest
import yaml

from conftest import SHARED
from migrate.errors import BadInput
from migrate.kernelconfig import load_config_file
from migrate.manifests import (DATA_DIR, available_targets, compiled_twin, load_manifest,
                               load_manifest_file, schema_errors, validate_file)
from migrate.manifests.leappdata import load_driver_data, load_pes_events, pes_summary

TARGETS = ["anolis-23", "anolis-7", "anolis-8", "opencloudos-8", "opencloudos-9", "tencentos-3"]
YAMLS = sorted(glob.glob(os.path.join(DATA_DIR, "*.yaml")))


def test_the_six_targets_exist():
    assert available_targets() == TARGETS


@pytest.mark.parametrize("path", YAMLS, ids=os.path.basename)
def test_every_shipped_manifest_validates(path):
    assert validate_file(path) == []


def evidence_holders(data):
    """Every fact group of a manifest (mapping) that must carry evidence."""
    yield data["os_release"]
    yield from data["migration_paths"]
    yield data["release_swap"]
    yield data["repos"]
    yield from data["gpg_keys"]
    for flavour in data["kernel"]["flavours"]:
        yield flavour
        if flavour["config"]:
            yield flavour["config"]
    yield from data["crypto"].values()
    if data["package_mappings"]["pes"]:
        yield data["package_mappings"]["pes"]
    yield from data["package_mappings"]["swaps"]
    if data["removed_drivers"]:
        yield data["removed_drivers"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_fact_group_has_evidence(target):
    data = load_manifest(target).raw
    groups = list(evidence_holders(data))
    assert len(groups) >= 10
    for group in groups:
        assert len(group["evidence"].strip()) >= 10, group
    assert data["architectures_evidence"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_source_has_a_path_with_a_way_forward(target):
    manifest = load_manifest(target)
    sources = {(p.source.distro, p.source.variant, p.source.major) for p in manifest.migration_paths}
    assert sources == {("centos", "linux", 7), ("centos", "linux", 8), ("centos", "stream", 8)}


@pytest.mark.parametrize("path", YAMLS, ids=os.path.basename)
def test_compiled_twin_is_in_sync_with_its_yaml(path):
    """Run scripts/compile-manifests after editing a manifest."""
    twin = json.load(open(compiled_twin(path)))
    assert twin["manifest"] == yaml.safe_load(open(path))
    assert load_manifest_file(path) == load_manifest_file(path, use_compiled=False)


def test_a_stale_twin_is_ignored(tmp_path):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    yaml_path = tmp_path / "data" / "anolis-8.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("name: Anolis OS 8", "name: Anolis OS 8 (edited)", 1))
    assert load_manifest_file(str(yaml_path)).name == "Anolis OS 8 (edited)"


def test_opencloudos_9_kernel_and_sm_capabilities():
    manifest = load_manifest("opencloudos-9")
    flavour = manifest.kernel_flavour()
    assert flavour.version.startswith("6.6")
    assert flavour.config.kind == "savedefconfig"
    config = load_config_file(manifest.data_file(flavour.config.file), flavour.config.kind)
    assert config.state("CONFIG_CRYPTO_SM4_GENERIC") == "m"
    # savedefconfig: an option that is not listed is unknown, never "no"
    assert config.state("CONFIG_SOMETHING_NOT_LISTED") == "unknown"
    assert manifest.crypto["kernel"]["sm4"] == "module"


@pytest.mark.parametrize("target", TARGETS)
def test_kernel_config_files_are_verbatim_copies_of_shared_data(target):
    for flavour in load_manifest(target).kernel_flavours:
        if flavour.config:
            shipped = open(os.path.join(DATA_DIR, flavour.config.file), "rb").read()
            original = SHARED / "data" / flavour.config.file
            assert original.read_bytes() == shipped


def test_pes_events_load_and_counts_match_the_source_file():
    manifest = load_manifest("anolis-8")
    dataset = manifest.package_mappings["pes"]["dataset"]
    shipped = manifest.data_file(dataset)
    source = json.load(gzip.open(SHARED / "data" / dataset))
    events = load_pes_events(shipped)
    assert len(events) == len(source["packageinfo"]) == 2289
    names = {0: "present", 1: "removed", 2: "deprecated", 3: "replaced", 4: "split", 5: "merged",
             6: "moved", 7: "renamed"}
    expected = collections.Counter(names[e["action"]] for e in source["packageinfo"])
    assert pes_summary(events)["by_action"] == dict(sorted(expected.items()))


def test_driver_deprecation_data_loads():
    manifest = load_manifest("anolis-8")
    devices = load_driver_data(manifest.data_file(manifest.removed_drivers["dataset"]))
    source = json.load(gzip.open(SHARED / "data" / manifest.removed_drivers["dataset"]))
    assert len(devices) == len(source["data"])


def mutated(tmp_path, mutate):
    shutil.copytree(DATA_DIR, tmp_path / "data")
    data = yaml.safe_load(open(os.path.join(DATA_DIR, "anolis-8.yaml")))
    mutate(data)
    path = tmp_path / "data" / "custom.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["migration_paths"][0].pop("kind"), "migration_paths[0]: 'kind' is a required property"),
    (lambda d: d["migration_paths"][1].update(kind="teleport"), "migration_paths[1].kind: 'teleport' is not one of"),
    (lambda d: d["migration_paths"][0]["from"].update(major="8"), "migration_paths[0].from.major: '8' is not of type 'integer'"),
    (lambda d: d.pop("name"), "(top level): 'name' is a required property"),
    (lambda d: d["crypto"]["kernel"].update(sm3="maybe"), "crypto.kernel.sm3: 'maybe' is not one of"),
    (lambda d: d["kernel"].update(default_flavour="nope"), "kernel.default_flavour: 'nope' is not one of the flavours"),
    (lambda d: d["package_mappings"]["pes"].update(dataset="leapp/missing.json.gz"),
     "package_mappings.pes.dataset: leapp/missing.json.gz does not exist"),
])
def test_errors_name_file_key_path_and_reason(tmp_path, mutate, message):
    path = mutated(tmp_path, mutate)
    errors = validate_file(path)
    assert any(e.startswith(path + ": " + message) for e in errors), errors
    with pytest.raises(BadInput) as info:
        load_manifest_file(path)
    assert str(info.value).startswith(path + ": ")


def test_validate_command_lists_every_problem(tmp_path, cli):
    def two_problems(d):
        d.pop("name")
        d["crypto"]["openssl"]["sm2"] = 3
    path = mutated(tmp_path, two_problems)
    result = cli("manifest", "validate", path, os.path.join(DATA_DIR, "anolis-7.yaml"))
    assert result.code == 2
    errors = [l for l in result.stderr.splitlines() if l.startswith("migrate: error: ")]
    assert len(errors) == 2 and all(path in e for e in errors)
    assert result.stdout.strip().endswith("anolis-7.yaml: valid")


def test_malformed_yaml_is_one_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nmigration_paths: [\n")
    with pytest.raises(BadInput) as info:
        load_manifest_file(str(path))
    assert "not valid YAML" in str(info.value) and "\n" not in str(info.value)


def test_unknown_target_id(cli):
    result = cli("targets", "show", "rhel-10")
    assert result.code == 2 and "unknown target 'rhel-10'" in result.stderr


def test_targets_show_opencloudos_9_names_kernel_sm_and_evidence(cli):
    result = cli("targets", "show", "opencloudos-9")
    assert result.code == 0, result
    text = result.stdout
    assert "version 6.6" in text and "sm4=module" in text
    assert text.count("evidence:") >= 10
    data = cli("targets", "show", "opencloudos-9", "--json").json()
    assert data["manifest"]["kernel"]["flavours"][0]["version"].startswith("6.6")
