"""The analytics date range (a GET form: the range lives in the URL)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional


class RangeForm(FlaskForm):
    """From and to, whole UTC days; empty means the last 30 days."""

    class Meta:
        csrf = False

    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
