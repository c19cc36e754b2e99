"""Inventories: plain lists, Ansible INI and YAML, --limit, and hostile names."""
from __future__ import annotations

import pytest

from migrate.errors import BadInput
from migrate.fleet.inventory import apply_limit, detect_format, load_inventory
from migrate.fleet.remote import PROLOGUE, remote_command


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_plain_list(tmp_path):
    inv = load_inventory(_write(tmp_path, "hosts", "# fleet\nweb1\nadmin@db1:2222  # primary\n"
                                "[::1]:2200\n\n"))
    assert [(h.name, h.user, h.port) for h in inv.hosts] == [
        ("web1", None, None), ("db1", "admin", 2222), ("::1", None, 2200)]
    assert inv.hosts[2].file_stem == "__1"
    assert not inv.rejected


def test_ini_groups_children_and_vars(tmp_path):
    text = """
[web]
web[01:03] ansible_user=deploy
[db]
db1 ansible_host=10.0.0.5 ansible_port=2200 ansible_ssh_private_key_file=/k/id
[prod:children]
web
db
[prod:vars]
ansible_user=ops
migrate_root=/mnt/image
[all:vars]
ansible_port=22
"""
    path = _write(tmp_path, "inv.ini", text)
    assert detect_format(path, text) == "ini"
    inv = load_inventory(path)
    by = {h.name: h for h in inv.hosts}
    assert sorted(by) == ["db1", "web01", "web02", "web03"]
    assert by["web02"].user == "deploy"          # host var beats group var
    assert by["db1"].user == "ops" and by["db1"].port == 2200 and by["db1"].address == "10.0.0.5"
    assert by["db1"].key_file == "/k/id" and by["web01"].root == "/mnt/image"
    assert by["web01"].port == 22
    assert [h.name for h in apply_limit(inv, "db")] == ["db1"]
    assert [h.name for h in apply_limit(inv, "prod,!web0[12]")] == ["web03", "db1"]
    assert [h.name for h in apply_limit(inv, "web*:&prod")] == ["web01", "web02", "web03"]


def test_yaml_inventory(tmp_path):
    text = """
all:
  vars: {ansible_user: root}
  children:
    el7:
      hosts:
        c7a: {ansible_host: 127.0.0.2}
        c7b:
      vars: {ansible_port: 2201}
    el8:
      children:
        k8s:
          hosts:
            node1: {ansible_user: kube}
"""
    inv = load_inventory(_write(tmp_path, "inv.yml", text))
    by = {h.name: h for h in inv.hosts}
    assert by["c7a"].address == "127.0.0.2" and by["c7a"].port == 2201 and by["c7b"].user == "root"
    assert by["node1"].user == "kube" and "el8" in by["node1"].groups
    assert [h.name for h in apply_limit(inv, "el8")] == ["node1"]


HOSTILE = ["evil;rm -rf /", "../../etc/passwd", "$(touch /tmp/pwned)", "a`id`", "..", "-oProxyCommand=x",
           "x|y", "a/b"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_rejected_plain(tmp_path, name):
    inv = load_inventory(_write(tmp_path, "hosts", "good1\n%s\n" % name))
    assert [h.name for h in inv.hosts] == ["good1"]
    assert len(inv.rejected) == 1


def test_a_host_named_fleet_is_rejected_because_fleet_json_is_the_summary(tmp_path):
    inv = load_inventory(_write(tmp_path, "inv.ini", "[web]\nfleet ansible_host=10.0.0.1\nFLEET\nfleet2\n"))
    assert [h.name for h in inv.hosts] == ["fleet2"]
    assert [r[0] for r in inv.rejected] == ["'fleet'", "'FLEET'"]


def test_hostile_values_rejected_yaml(tmp_path):
    text = ('all:\n  hosts:\n    "bad\\nname": {}\n    ok1: {ansible_host: "1.2.3.4; id"}\n'
            '    ok2: {ansible_user: "$(id)"}\n    ok3: {migrate_root: "relative"}\n    fine: {}\n')
    inv = load_inventory(_write(tmp_path, "inv.yaml", text))
    assert [h.name for h in inv.hosts] == ["fine"]
    assert len(inv.rejected) == 4


def test_bad_inventory_is_bad_input(tmp_path):
    with pytest.raises(BadInput):
        load_inventory(str(tmp_path / "missing"))
    with pytest.raises(BadInput):
        load_inventory(_write(tmp_path, "x.yml", "all: [1, 2\n"))


def test_remote_command_quotes_every_argument():
    import shlex
    cmd = remote_command("/srv/root with space/'q'", become=True)
    argv = shlex.split(cmd)
    assert argv[:4] == ["sudo", "-n", "--", "/bin/sh"]
    assert argv[5] == PROLOGUE and argv[-2:] == ["--root", "/srv/root with space/'q'"]
