"""Account settings and WhatsApp linking."""
from blueprints.settings import api_keys, audit, badge, events, views, whatsapp  # noqa: F401  (their routes attach to bp)
from blueprints.settings.blueprint import bp

__all__ = ["bp"]
