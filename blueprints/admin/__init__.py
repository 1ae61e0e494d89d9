"""The platform admin console: overview, tenants, support views, audit log and queues."""
from blueprints.admin import queues, tenants, views  # noqa: F401  (their routes attach to bp)
from blueprints.admin.blueprint import bp

__all__ = ["bp"]
