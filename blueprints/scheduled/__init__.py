"""Scheduled messages: schedule a text or template for a contact, list, edit and cancel them."""
from blueprints.scheduled import views  # noqa: F401  (its routes attach to bp)
from blueprints.scheduled.blueprint import bp

__all__ = ["bp"]
