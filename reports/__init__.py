"""Report rendering (installed as ``migrate.reports``): JSON envelope, terminal summary,
and the jinja2 templates under ``templates/``."""
