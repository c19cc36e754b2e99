"""Shared pieces of the HTML reports: the jinja2 environment (autoescape always on),
safe inline JSON, the Content-Security-Policy that pins the one inline script and
style, small inline SVG bar charts, and a generic renderer for nested report data.

Every page is one self-contained file: no external asset, no network fetch. The
CSP (``default-src 'none'``) enforces it in the browser, and also stops any
script that escaping might have missed: only the script whose hash is pinned runs.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import shlex
from typing import Any, Dict, Iterable, List, Sequence, Tuple

import jinja2
from markupsafe import Markup

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

VERDICTS = {
    "ready": ("Ready", "ready"),
    "ready_with_warnings": ("Ready with warnings", "warn"),
    "blocked": ("Blocked", "blocked"),
}
SEVERITY_ORDER = {"blocker": 0, "warning": 1, "info": 2}
STATUS_ORDER = ("passed", "findings", "not_applicable", "skipped", "error")

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_for_script(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and
    U+2028/U+2029 are written as \\u escapes, so no ``</script>`` or ``<!--`` can
    appear and JSON.parse gives back exactly ``value``."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.translate(_JSON_ESCAPES))


def shell_line(argv: Sequence[str]) -> str:
    """An argv list shown as one shell line (for display and copying only; migrate
    itself always runs argv lists, never shell strings)."""
    return shlex.join([str(a) for a in argv])


def _read(name: str) -> str:
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as handle:
        return handle.read()


def _csp_hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


@functools.lru_cache(maxsize=None)
def assets() -> Dict[str, Any]:
    """The inline stylesheet and script, and the CSP that allows exactly them."""
    css, js = _read("report.css"), _read("report.js")
    csp = ("default-src 'none'; img-src data:; style-src %s; script-src %s; "
           "base-uri 'none'; form-action 'none'" % (_csp_hash(css), _csp_hash(js)))
    return {"css": Markup(css), "js": Markup(js), "csp": csp}


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["json_script"] = json_for_script
    env.filters["shell"] = shell_line
    return env


def render(template: str, **context: Any) -> str:
    """Render one of the templates with the shared assets."""
    return environment().get_template(template).render(assets=assets(), **context)


# -- inline SVG charts --------------------------------------------------------------

def bar_segments(parts: Iterable[Tuple[str, int, str]], width: float = 600.0
                 ) -> List[Dict[str, Any]]:
    """Geometry of one horizontal stacked bar: (label, count, css class) -> segments
    with x/width in user units; empty parts are dropped."""
    parts = [(label, int(count), cls) for label, count, cls in parts if count]
    total = sum(count for _, count, _ in parts)
    out, x = [], 0.0
    for label, count, cls in parts:
        w = width * count / total
        out.append({"label": label, "count": count, "cls": cls, "x": round(x, 2),
                    "width": round(w, 2), "pct": round(100.0 * count / total, 1)})
        x += w
    return out


def bar_rows(parts: Iterable[Tuple[str, int, str]], width: float = 360.0
             ) -> List[Dict[str, Any]]:
    """Geometry of a horizontal bar chart, one bar per part, scaled to the largest."""
    parts = list(parts)
    top = max([count for _, count, _ in parts] + [1])
    return [{"label": label, "count": count, "cls": cls, "y": i * 28,
             "width": round(width * count / top, 2) if count else 0}
            for i, (label, count, cls) in enumerate(parts)]


# -- generic rendering of nested data (kernel_diff, sm_matrix, unknown blocks) -------

_STATUS_WORDS = {
    "yes": "good", "true": "good", "available": "good", "ok": "good", "supported": "good",
    "same": "good", "passed": "good", "enabled": "good", "builtin": "good", "y": "good",
    "module": "good", "m": "good",
    "no": "bad", "false": "bad", "missing": "bad", "unavailable": "bad", "removed": "bad",
    "unsupported": "bad", "blocker": "bad", "disabled": "bad", "error": "bad", "n": "bad",
    "changed": "warn", "lost": "bad", "gained": "good", "partial": "warn", "warning": "warn", "different": "warn",
    "unknown": "muted", "not assessed": "muted", "none": "muted",
}


def status_class(word: str) -> str:
    """CSS class (good/bad/warn/muted) for a status word such as yes, no, lost, unknown."""
    return _STATUS_WORDS.get(word.strip().lower(), "")


def _text(value: Any) -> Dict[str, Any]:
    if value is None:
        return {"kind": "text", "text": "unknown", "cls": "muted"}
    if value is True or value is False:
        word = "yes" if value else "no"
        return {"kind": "text", "text": word, "cls": _STATUS_WORDS[word]}
    text = str(value)
    return {"kind": "text", "text": text, "cls": _STATUS_WORDS.get(text.strip().lower(), "")}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def data_node(value: Any, depth: int = 0) -> Dict[str, Any]:
    """A render tree for any JSON value: mappings become key/value tables, mappings
    of flat mappings become matrices, lists of mappings become tables with the union
    of their keys as columns, other lists become lists. Deeper than 6 levels, JSON text."""
    if _scalar(value):
        return _text(value)
    if depth > 6:
        return {"kind": "code", "text": json.dumps(value, sort_keys=True, ensure_ascii=False)}
    if isinstance(value, dict):
        if not value:
            return {"kind": "text", "text": "(none)", "cls": "muted"}
        inner = list(value.values())
        if len(value) > 1 and all(isinstance(v, dict) and v and all(_scalar(x) for x in v.values())
                                  for v in inner):
            columns = _union_keys(inner)
            return {"kind": "table", "corner": "", "columns": columns,
                    "rows": [(str(k), [_text(v.get(c)) if c in v else _text("")
                                       for c in columns]) for k, v in value.items()]}
        return {"kind": "kv", "items": [(str(k), data_node(v, depth + 1)) for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        if not value:
            return {"kind": "text", "text": "(none)", "cls": "muted"}
        if all(isinstance(v, dict) for v in value):
            columns = _union_keys(value)
            return {"kind": "table", "corner": None, "columns": columns,
                    "rows": [(None, [data_node(v[c], depth + 1) if c in v else _text("")
                                     for c in columns]) for v in value]}
        return {"kind": "list", "items": [data_node(v, depth + 1) for v in value]}
    return _text(repr(value))


def _union_keys(mappings: Iterable[Dict[str, Any]]) -> List[str]:
    seen: Dict[str, None] = {}
    for mapping in mappings:
        for key in mapping:
            seen.setdefault(str(key), None)
    return list(seen)

