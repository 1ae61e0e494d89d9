"""Contacts: list, search, create, edit, delete, tag."""
from blueprints.contacts import views  # noqa: F401  (its routes attach to bp)
from blueprints.contacts.blueprint import bp

__all__ = ["bp"]
