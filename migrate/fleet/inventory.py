"""Fleet inventories: a plain host list, or an Ansible inventory (INI or YAML).

Every host name, address and user is validated here, before anything else sees it:
names become output file names and addresses go to the socket layer, so a name with
shell metacharacters, a path separator, `..` tricks or a newline is rejected (reported,
never used). Nothing from an inventory is ever put in a shell string.
"""
from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from migrate.errors import BadInput

# A host name as it may appear in an inventory and as an output file name stem.
NAME_RE = re.compile(r"^[A-Za-z0-9_:][A-Za-z0-9_.:-]{0,252}$")  # no "/", never starts with "." or "-"
# An address: DNS name, IPv4, or IPv6 (without brackets).
ADDRESS_RE = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}|[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?)$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
RANGE_RE = re.compile(r"\[([0-9]+):([0-9]+)\]")


@dataclass
class Host:
    """One inventory host; `address`/`port`/`user` may still be refined by ssh_config."""

    name: str
    address: Optional[str] = None
    port: Optional[int] = None
    user: Optional[str] = None
    key_file: Optional[str] = None
    root: Optional[str] = None  # migrate_root: collect from a sysroot on the host (--root)
    groups: Tuple[str, ...] = ()
    vars: Dict[str, Any] = field(default_factory=dict)

    @property
    def file_stem(self) -> str:
        """The output file name stem: the validated name with ':' made file-safe."""
        return self.name.replace(":", "_")


@dataclass
class Inventory:
    hosts: List[Host]
    rejected: List[Tuple[str, str]]  # (raw name as repr, reason)
    groups: Dict[str, List[str]]


def check_name(name: str) -> Optional[str]:
    if not NAME_RE.match(name):
        return "invalid host name %r (allowed: letters, digits, '_', '.', ':', '-')" % name
    return None


# Output files per host are NAME.json/.html/.facts.json beside the fleet's own fleet.json:
# a host whose file name would be "fleet" would overwrite (or be read as) that summary.
RESERVED_STEMS = ("fleet",)


def check_host_name(name: str) -> Optional[str]:
    """check_name, plus the names a fleet run cannot write files for."""
    problem = check_name(name)
    if problem is None and name.replace(":", "_").lower() in RESERVED_STEMS:
        problem = ("host name %r is reserved (its report would be fleet.json); use another inventory "
                   "name and keep the address in ansible_host" % name)
    return problem


def _port(value: Any, where: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise ValueError("%s: port %r is not a number" % (where, value)) from None
    if not 0 < port < 65536:
        raise ValueError("%s: port %d out of range" % (where, port))
    return port


def make_host(name: str, hostvars: Dict[str, Any], groups: Iterable[str] = ()) -> Host:
    """A validated Host from a name and Ansible-style variables (ValueError if invalid)."""
    problem = check_host_name(name)
    if problem:
        raise ValueError(problem)
    address = hostvars.get("ansible_host", hostvars.get("ansible_ssh_host"))
    if address is not None:
        address = str(address)
        if not ADDRESS_RE.match(address):
            raise ValueError("%s: invalid ansible_host %r" % (name, address))
    port = hostvars.get("ansible_port", hostvars.get("ansible_ssh_port"))
    user = hostvars.get("ansible_user", hostvars.get("ansible_ssh_user"))
    if user is not None:
        user = str(user)
        if not USER_RE.match(user):
            raise ValueError("%s: invalid ansible_user %r" % (name, user))
    key = hostvars.get("ansible_ssh_private_key_file", hostvars.get("ansible_private_key_file"))
    root = hostvars.get("migrate_root")
    if root is not None and (not str(root).startswith("/") or "\n" in str(root) or "\0" in str(root)):
        raise ValueError("%s: migrate_root must be an absolute path" % name)
    return Host(name=name, address=address, port=_port(port, name) if port is not None else None,
                user=user, key_file=str(key) if key is not None else None,
                root=str(root) if root is not None else None, groups=tuple(groups),
                vars=dict(hostvars))


def parse_plain_line(line: str) -> Host:
    """`[user@]host[:port]` or `[user@][v6addr]:port`."""
    user = None
    spec = line
    if "@" in spec:
        user, spec = spec.rsplit("@", 1)
    port = None
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ValueError("unbalanced '[' in %r" % line)
        host, rest = spec[1:end], spec[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("garbage after ']' in %r" % line)
            port = rest[1:]
    elif spec.count(":") == 1:
        host, port = spec.split(":")
    else:
        host = spec
    hostvars: Dict[str, Any] = {}
    if user is not None:
        hostvars["ansible_user"] = user
    if port is not None:
        hostvars["ansible_port"] = port
    return make_host(host, hostvars)


def expand_ranges(pattern: str) -> List[str]:
    """Ansible numeric ranges: web[01:03] -> web01, web02, web03 (leading zeros kept)."""
    match = RANGE_RE.search(pattern)
    if not match:
        return [pattern]
    start, end = match.group(1), match.group(2)
    width = len(start) if start.startswith("0") else 0
    out = []
    for i in range(int(start), int(end) + 1):
        out.extend(expand_ranges(pattern[:match.start()] + str(i).zfill(width) + pattern[match.end():]))
    return out


class _Builder:
    """Collects groups, children and vars, then resolves each host's variables."""

    def __init__(self) -> None:
        self.host_order: List[str] = []
        self.host_vars: Dict[str, Dict[str, Any]] = {}
        self.group_hosts: Dict[str, List[str]] = {"all": [], "ungrouped": []}
        self.group_vars: Dict[str, Dict[str, Any]] = {}
        self.children: Dict[str, List[str]] = {}
        self.rejected: List[Tuple[str, str]] = []

    def add_host(self, name: str, group: Optional[str], hostvars: Dict[str, Any]) -> None:
        if name not in self.host_vars:
            self.host_order.append(name)
            self.host_vars[name] = {}
        self.host_vars[name].update(hostvars)
        if group and group not in ("all", "ungrouped"):
            self.group_hosts.setdefault(group, [])
            if name not in self.group_hosts[group]:
                self.group_hosts[group].append(name)

    def parents(self) -> Dict[str, List[str]]:
        parents: Dict[str, List[str]] = {}
        for parent, kids in self.children.items():
            for kid in kids:
                parents.setdefault(kid, []).append(parent)
        return parents

    def build(self) -> Inventory:
        parents = self.parents()

        def ancestry(group: str, seen: Tuple[str, ...] = ()) -> List[str]:
            chain: List[str] = []
            for parent in parents.get(group, []):
                if parent not in seen:
                    chain.extend(ancestry(parent, seen + (group,)))
                    chain.append(parent)
            return chain

        members: Dict[str, List[str]] = {}
        for group in set(self.group_hosts) | set(self.children) | set(self.group_vars):
            members[group] = []
        hosts: List[Host] = []
        for name in self.host_order:
            direct = [g for g, names in self.group_hosts.items() if name in names]
            ordered: List[str] = []
            for group in direct:
                for g in ancestry(group) + [group]:
                    if g not in ordered and g not in ("all",):
                        ordered.append(g)
            merged: Dict[str, Any] = dict(self.group_vars.get("all", {}))
            for g in ordered:  # parents before children: the child group wins
                merged.update(self.group_vars.get(g, {}))
            merged.update(self.host_vars[name])
            groups = ["all"] + (ordered or ["ungrouped"])
            try:
                host = make_host(name, merged, groups)
            except ValueError as exc:
                self.rejected.append((repr(name), str(exc)))
                continue
            hosts.append(host)
            for g in groups:
                members.setdefault(g, []).append(name)
        return Inventory(hosts=hosts, rejected=self.rejected, groups=members)


def _ini_value(text: str) -> Any:
    return text


def parse_ini(text: str, where: str) -> Inventory:
    b = _Builder()
    section, kind = "ungrouped", "hosts"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            header = line[1:-1].strip()
            section, _, kind = header.partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "children", "vars"):
                raise BadInput("%s:%d: unknown section kind %r" % (where, lineno, kind))
            if kind == "children":
                b.children.setdefault(section, [])
            continue
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            b.rejected.append((repr(line), "%s:%d: %s" % (where, lineno, exc)))
            continue
        if not tokens:
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise BadInput("%s:%d: expected key=value in [%s:vars]" % (where, lineno, section))
            b.group_vars.setdefault(section, {})[key.strip()] = _ini_value(value.strip().strip("'\""))
        elif kind == "children":
            b.children[section].append(tokens[0])
        else:
            hostvars: Dict[str, Any] = {}
            for token in tokens[1:]:
                key, sep, value = token.partition("=")
                if not sep:
                    b.rejected.append((repr(tokens[0]), "%s:%d: expected key=value, got %r"
                                       % (where, lineno, token)))
                    break
                hostvars[key] = value
            else:
                for name in expand_ranges(tokens[0]):
                    b.add_host(name, section, hostvars)
    return b.build()


def parse_yaml(text: str, where: str) -> Inventory:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput("%s: not valid YAML: %s" % (where, str(exc).splitlines()[0])) from None
    if not isinstance(data, dict):
        raise BadInput("%s: a YAML inventory is a mapping of groups" % where)
    b = _Builder()

    def walk(group: str, body: Any) -> None:
        if body is None:
            return
        if not isinstance(body, dict):
            raise BadInput("%s: group %s must be a mapping" % (where, group))
        for name, hostvars in (body.get("hosts") or {}).items():
            if hostvars is not None and not isinstance(hostvars, dict):
                raise BadInput("%s: host %s: variables must be a mapping" % (where, name))
            for expanded in expand_ranges(str(name)):
                b.add_host(expanded, group, dict(hostvars or {}))
        if body.get("vars"):
            b.group_vars.setdefault(group, {}).update(body["vars"])
        for child, child_body in (body.get("children") or {}).items():
            if group != "all":
                b.children.setdefault(group, []).append(str(child))
            walk(str(child), child_body)

    for group, body in data.items():
        walk(str(group), body)
    return b.build()


def parse_plain(text: str, where: str) -> Inventory:
    hosts, rejected = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            hosts.append(parse_plain_line(line))
        except ValueError as exc:
            rejected.append((repr(raw.strip()), "%s:%d: %s" % (where, lineno, exc)))
    names = [h.name for h in hosts]
    for h in hosts:
        h.groups = ("all", "ungrouped")
    return Inventory(hosts=hosts, rejected=rejected, groups={"all": names, "ungrouped": list(names)})


def detect_format(path: str, text: str) -> str:
    if path.endswith((".yml", ".yaml")):
        return "yaml"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]") and not re.match(r"^\[[0-9A-Fa-f:.]+\](:\d+)?$", line):
            return "ini"
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*:\s*$", line):
            return "yaml"
        if len(line.split("#", 1)[0].split()) > 1:
            return "ini"
    return "plain"


def load_inventory(path: str) -> Inventory:
    """Read an inventory file; duplicates keep their first definition."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise BadInput("%s: cannot read inventory: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise BadInput("%s: inventory is not UTF-8 text" % path) from None
    kind = detect_format(path, text)
    inv = {"yaml": parse_yaml, "ini": parse_ini, "plain": parse_plain}[kind](text, path)
    seen, unique = set(), []
    for host in inv.hosts:
        if host.file_stem in seen:
            inv.rejected.append((repr(host.name), "duplicate host (after ':' -> '_' in file names)"))
            continue
        seen.add(host.file_stem)
        unique.append(host)
    inv.hosts = unique
    return inv


def apply_limit(inv: Inventory, limit: str) -> List[Host]:
    """Ansible-style --limit: comma/colon separated group names or host globs; `!x` excludes,
    `&x` intersects."""
    patterns = [p for p in re.split(r"[,:]", limit) if p.strip()]

    def matches(host: Host, pattern: str) -> bool:
        if pattern in inv.groups:
            return host.name in inv.groups[pattern]
        return fnmatch.fnmatchcase(host.name, pattern) or (
            host.address is not None and fnmatch.fnmatchcase(host.address, pattern))

    include = [p.strip() for p in patterns if not p.strip().startswith(("!", "&"))]
    exclude = [p.strip()[1:] for p in patterns if p.strip().startswith("!")]
    intersect = [p.strip()[1:] for p in patterns if p.strip().startswith("&")]
    selected = []
    for host in inv.hosts:
        if include and not any(matches(host, p) for p in include):
            continue
        if any(matches(host, p) for p in exclude):
            continue
        if not all(matches(host, p) for p in intersect):
            continue
        selected.append(host)
    return selected
