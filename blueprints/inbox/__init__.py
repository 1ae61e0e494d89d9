"""Inbox: conversations, replies, media, templates and quick replies."""
from blueprints.inbox import conversations, quick_replies, template_views, views  # noqa: F401  (routes attach to bp)
from blueprints.inbox.blueprint import bp

__all__ = ["bp"]
