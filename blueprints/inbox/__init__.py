"""Inbox: conversations, replies, media, templates and quick replies."""
from blueprints.inbox.views import bp  # noqa: F401
