"""The REST API (/api/v1): one module per resource; the blueprint, auth and errors live in blueprint.py."""
from blueprints.api import broadcasts, contacts, conversations, deals, docs, segments, tags, webhooks  # noqa: F401  (their routes attach to bp)
from blueprints.api.blueprint import bp

__all__ = ["bp"]
