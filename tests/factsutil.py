"""Facts for unit tests, always produced by the real collector from a real root."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, Union

from migrate.facts import Facts, ReleaseFile
from migrate.localcollect import collect_local

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "samples" / "os-release"


def facts_for_root(root: Path) -> Facts:
    return collect_local(str(root))


def with_release(facts: Facts, os_release: Union[str, None], release_files: Dict[str, str]) -> Facts:
    """Facts whose release files are replaced (text as the collector would have read it)."""
    from migrate.collector import parse_os_release

    osr = parse_os_release(os_release) if os_release is not None else None
    files = {path: ReleaseFile(content=text.strip()) for path, text in release_files.items()}
    return dataclasses.replace(facts, os=dataclasses.replace(facts.os, os_release=osr,
                                                              release_files=files))
