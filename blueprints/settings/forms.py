"""Settings forms: the workspace, and the logged-in person's password."""
from __future__ import annotations

import phonenumbers
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, ValidationError

from services.passwords import password_problems


def _region_choices() -> list[tuple[str, str]]:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    return [(r, f"{r} (+{phonenumbers.country_code_for_region(r)})") for r in regions]


class AccountForm(FlaskForm):
    """Workspace name and the region for numbers typed without a country code; rules live in services.workspace."""

    name = StringField("Workspace name", validators=[DataRequired(), Length(max=120)])
    default_region = SelectField("Default phone region", choices=_region_choices)
    opt_out_keywords = TextAreaField("Opt-out keywords", validators=[Length(max=2000)],
                                     description="Comma-separated. A customer who sends one of these stops receiving "
                                                 "broadcasts and automated messages.")
    opt_in_keywords = TextAreaField("Opt-in keywords", validators=[Length(max=2000)],
                                    description="Comma-separated. Sending one of these subscribes the customer again.")
    retention_days = IntegerField("Keep messages for (days)", validators=[NumberRange(1, 3650)])
    retention_max_messages = IntegerField("Keep at most (messages)", validators=[NumberRange(100, 10_000_000)])


class PasswordForm(FlaskForm):
    """A new password, given the current one."""

    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "Passwords differ.")])

    def validate_new_password(self, field):
        """The sign-up strength rule."""
        problems = password_problems(field.data or "", current_user.email)
        if problems:
            raise ValidationError(" ".join(problems))
