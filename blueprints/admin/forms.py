"""Admin forms: a workspace's quotas."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional


class QuotaForm(FlaskForm):
    """The workspace's own quotas; empty fields mean the install's default."""

    contacts = IntegerField("Contacts", validators=[Optional(), NumberRange(min=0, message="Zero or more.")])
    messages_per_day = IntegerField("Messages per day",
                                    validators=[Optional(), NumberRange(min=0, message="Zero or more.")])
