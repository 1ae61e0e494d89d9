"""Account settings and WhatsApp linking."""
from blueprints.settings import events, whatsapp  # noqa: F401  (register their routes on bp)
from blueprints.settings.views import bp  # noqa: F401
