"""Account settings (WhatsApp linking joins here)."""
from blueprints.settings.views import bp  # noqa: F401
