"""Leapp data shipped with the manifests: PES package events and driver deprecation.

Loaded only by the checks and commands that need them (a few MB once
decompressed). Formats: ../shared/data/README.md and leapp/doc-pes-events.md.
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from migrate.errors import BadInput

# PES action codes (leapp-repository pes_event_parsing).
PES_ACTIONS = {0: "present", 1: "removed", 2: "deprecated", 3: "replaced", 4: "split",
               5: "merged", 6: "moved", 7: "renamed"}


@dataclass(frozen=True)
class PesEvent:
    id: int
    action: str
    in_packages: Tuple[str, ...]
    out_packages: Tuple[str, ...]
    architectures: Tuple[str, ...]
    from_release: Optional[Tuple[int, int]]  # (major, minor) of initial_release
    to_release: Tuple[int, int]


def _read_json_gz(path: str) -> Any:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, EOFError, ValueError) as exc:
        raise BadInput("%s: cannot read leapp data: %s" % (path, exc)) from None


def load_pes_events(path: str) -> List[PesEvent]:
    data = _read_json_gz(path)
    events = []
    try:
        for item in data["packageinfo"]:
            initial = item.get("initial_release")
            out = item.get("out_packageset") or {}
            events.append(PesEvent(
                id=item["id"], action=PES_ACTIONS[item["action"]],
                in_packages=tuple(p["name"] for p in item["in_packageset"]["package"]),
                out_packages=tuple(p["name"] for p in out.get("package") or ()),
                architectures=tuple(item.get("architectures") or ()),
                from_release=(initial["major_version"], initial["minor_version"]) if initial else None,
                to_release=(item["release"]["major_version"], item["release"]["minor_version"])))
    except (KeyError, TypeError) as exc:
        raise BadInput("%s: unexpected PES event layout (%s)" % (path, exc)) from None
    return events


def pes_summary(events: List[PesEvent]) -> Dict[str, Any]:
    return {"events": len(events),
            "by_action": dict(sorted(Counter(e.action for e in events).items())),
            "by_release": dict(sorted(Counter("%d->%d" % (e.from_release[0] if e.from_release else 0,
                                                         e.to_release[0]) for e in events).items()))}


@dataclass(frozen=True)
class DeprecatedDevice:
    device_id: str
    device_name: str
    device_type: str
    driver_name: str
    available_in: Tuple[int, ...]  # EL majors shipping a driver for it
    maintained_in: Tuple[int, ...]
    deprecation_announced: str


def load_driver_data(path: str) -> List[DeprecatedDevice]:
    data = _read_json_gz(path)
    try:
        return [DeprecatedDevice(d["device_id"], d["device_name"], d["device_type"], d["driver_name"],
                                 tuple(d["available_in_rhel"]), tuple(d["maintained_in_rhel"]),
                                 d.get("deprecation_announced") or "")
                for d in data["data"]]
    except (KeyError, TypeError) as exc:
        raise BadInput("%s: unexpected driver data layout (%s)" % (path, exc)) from None


_DRIVER_CACHE: Dict[str, Tuple[DeprecatedDevice, ...]] = {}
_PES_CACHE: Dict[str, Tuple[PesEvent, ...]] = {}


def cached_pes_events(path: str) -> Tuple[PesEvent, ...]:
    """load_pes_events, once per file: shipped package data, not host data."""
    if path not in _PES_CACHE:
        _PES_CACHE[path] = tuple(load_pes_events(path))
    return _PES_CACHE[path]


def cached_driver_data(path: str) -> Tuple[DeprecatedDevice, ...]:
    """load_driver_data, once per file: it is shipped package data, not host data."""
    if path not in _DRIVER_CACHE:
        _DRIVER_CACHE[path] = tuple(load_driver_data(path))
    return _DRIVER_CACHE[path]


def drivers_removed_in(devices: List[DeprecatedDevice], el_major: int) -> Dict[str, DeprecatedDevice]:
    """Whole drivers (entries without a device id) that the EL major no longer ships.

    Entries with a device id remove support for one device only; they need the
    host's PCI ids, which the device checks match separately.
    """
    return {d.driver_name.replace("-", "_"): d for d in devices
            if d.driver_name and not d.device_id and el_major not in d.available_in}
