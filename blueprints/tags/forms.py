"""Tag form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.widgets import ColorInput


class TagForm(FlaskForm):
    """Name and colour of a tag; rules live in services.tags."""

    name = StringField("Name")
    color = StringField("Colour", widget=ColorInput(), default="#6c757d")
