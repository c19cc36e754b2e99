"""The JSON Schema of the report envelope, shipped as package data
(``migrate/reports/schema/report-v<N>.schema.json``), and a validator that returns
every problem as one ``path: message`` line."""
from __future__ import annotations

import functools
import json
import os
from typing import Any, Dict, List

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")


def schema_path(version: int = 1) -> str:
    return os.path.join(SCHEMA_DIR, "report-v%d.schema.json" % version)


@functools.lru_cache(maxsize=None)
def load_schema(version: int = 1) -> Dict[str, Any]:
    with open(schema_path(version), encoding="utf-8") as handle:
        return json.load(handle)


def validate_report(report: Any) -> List[str]:
    """Problems of an envelope against the schema of its schema_version (empty: valid)."""
    import jsonschema  # a dependency already; imported only when validating

    version = report.get("schema_version") if isinstance(report, dict) else None
    if not isinstance(version, int) or not os.path.exists(schema_path(version)):
        return ["schema_version: %r is not a known report schema version" % (version,)]
    validator = jsonschema.Draft202012Validator(load_schema(version))
    problems = []
    for error in sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path)):
        where = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in error.absolute_path)
        problems.append("%s: %s" % (where.lstrip(".") or "(top)", error.message))
    return problems
