"""The audit log's filter form (a GET form: filters live in the URL, so no CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError


class AuditFilterForm(FlaskForm):
    """Filter by action, actor (email or kind) and a range of UTC dates."""

    class Meta:
        csrf = False

    action = StringField("Action", validators=[Optional(), Length(max=60)])
    actor = StringField("Actor", validators=[Optional(), Length(max=254)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")
