"""Reading the YAML files users and the project write (manifests, waivers, needs)."""
from __future__ import annotations

from typing import Any

from migrate.errors import BadInput


def read_yaml(path: str, what: str) -> Any:
    """Parse a YAML file safely; any problem is one BadInput line naming the file."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=loader)
    except OSError as exc:
        raise BadInput("%s: cannot read %s: %s" % (path, what, exc.strerror or exc)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadInput("%s: not valid YAML: %s" % (path, " ".join(str(exc).split()))) from None
