"""Contacts: list, search, create, edit, delete, tag."""
from blueprints.contacts.views import bp  # noqa: F401
