"""Account settings and WhatsApp linking."""
# The route modules attach their routes to bp.
from blueprints.settings import api_keys, audit, badge, events, outbound_webhooks, views, whatsapp  # noqa: F401
from blueprints.settings.blueprint import bp

__all__ = ["bp"]
