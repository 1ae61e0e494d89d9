"""The schedule form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, StringField, TextAreaField


class ScheduleForm(FlaskForm):
    """When, and a text or a template (its variable values arrive as `value_<n>`); rules live in services.scheduling."""

    due_at = DateTimeLocalField("Send at", format="%Y-%m-%dT%H:%M")
    body = TextAreaField("Message")
    template_id = StringField("Template")
    back = HiddenField()
