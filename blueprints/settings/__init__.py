"""Account settings and WhatsApp linking."""
from blueprints.settings import whatsapp  # noqa: F401  (registers the WhatsApp routes on bp)
from blueprints.settings.views import bp  # noqa: F401
