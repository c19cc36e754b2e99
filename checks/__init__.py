"""Built-in checks. Each module exposes ``CHECK`` (a ``migrate.engine.Check``).

Checks are pure functions of facts and a manifest: no subprocess, file or
network access (the contract tests enforce it). Installed as ``migrate.checks``.
"""
