"""Inbox: conversations, replies, media, templates and quick replies."""
from blueprints.inbox.views import bp  # noqa: F401
from blueprints.inbox import quick_replies, template_views  # noqa: F401,E402  (routes register on bp)
