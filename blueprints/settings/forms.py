"""Settings forms: the workspace, and the logged-in person's password."""
from __future__ import annotations

import phonenumbers
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, ValidationError

from services.passwords import password_problems
from services.workspace import time_zones


def _region_choices() -> list[tuple[str, str]]:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    return [(r, f"{r} (+{phonenumbers.country_code_for_region(r)})") for r in regions]


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zones()]


class WholeNumberField(IntegerField):
    """An IntegerField that refuses anything but a whole number in words naming the field."""

    def __init__(self, label=None, validators=None, *, not_a_number: str, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist):
        """Blank is left to InputRequired; anything else must be digits (a sign and spaces allowed)."""
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = int(str(valuelist[0]).strip())
        except ValueError as exc:
            self.data = None
            raise ValueError(self.not_a_number) from exc


class AccountForm(FlaskForm):
    """Workspace name, phone region, time zone, opt-out words and history limits; rules live in services.workspace."""

    name = StringField("Workspace name", validators=[
        DataRequired("Enter a name for the workspace."),
        Length(max=120, message="Keep the workspace name to 120 characters or fewer.")])
    # Choices are checked by services.workspace, which says so in words (WTForms says "Not a valid choice").
    default_region = SelectField("Default phone region", choices=_region_choices, validate_choice=False,
                                 description="For numbers typed without a country code.")
    time_zone = SelectField("Time zone", choices=_time_zone_choices, validate_choice=False,
                            description="Broadcasts and drips are scheduled in this zone.")
    opt_out_keywords = TextAreaField("Opt-out keywords", validators=[
        Length(max=2000, message="Keep the opt-out keywords to 2,000 characters or fewer.")],
        description="Comma-separated. A customer who sends one of these stops receiving "
                    "broadcasts and automated messages.")
    opt_in_keywords = TextAreaField("Opt-in keywords", validators=[
        Length(max=2000, message="Keep the opt-in keywords to 2,000 characters or fewer.")],
        description="Comma-separated. Sending one of these subscribes the customer again.")
    retention_days = WholeNumberField(
        "Keep messages for (days)",
        not_a_number="Enter the number of days to keep messages as a whole number, like 365.",
        validators=[InputRequired("Enter how many days to keep messages."),
                    NumberRange(1, 3650, message="Keep messages for 1 to 3,650 days.")])
    retention_max_messages = WholeNumberField(
        "Keep at most (messages)",
        not_a_number="Enter the most messages to keep as a whole number, like 100000.",
        validators=[InputRequired("Enter how many messages to keep at most."),
                    NumberRange(100, 10_000_000, message="Keep between 100 and 10,000,000 messages.")])


class PasswordForm(FlaskForm):
    """A new password, given the current one."""

    current_password = PasswordField("Current password", validators=[
        DataRequired("Enter your current password."), Length(max=200)])
    new_password = PasswordField("New password", validators=[
        DataRequired("Enter a new password."),
        Length(max=200, message="Keep the password to 200 characters or fewer.")])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired("Repeat the new password."),
                                        EqualTo("new_password", "Passwords differ.")])

    def validate_new_password(self, field):
        """The sign-up strength rule."""
        problems = password_problems(field.data or "", current_user.email)
        if problems:
            raise ValidationError(" ".join(problems))
