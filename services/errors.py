"""The one error every service raises for input it refuses, keyed by form field."""
from __future__ import annotations


class Invalid(ValueError):
    """Refused input: `errors` maps a field name (or "" for the whole form) to a message fit to show."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


class Duplicate(Invalid):
    """Refused because something with the same unique value (a phone, a name) already exists."""
