"""The note form: fields only; the rules live in services.notes."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField


class NoteForm(FlaskForm):
    """One timeline entry."""

    body = TextAreaField("Note")
    back = HiddenField()
