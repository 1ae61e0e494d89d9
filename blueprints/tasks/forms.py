"""The task form: fields only; the rules live in services.tasks."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, StringField
from wtforms.validators import Optional


class TaskForm(FlaskForm):
    """What to do and when (wall-clock time in the workspace's zone)."""

    title = StringField("Task")
    due_at = DateTimeLocalField("Due", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    back = HiddenField()
