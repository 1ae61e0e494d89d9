"""Account forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from services.emails import EMAIL_PATTERN
from services.passwords import password_problems


class LoginForm(FlaskForm):
    """Email + password, optional remember-me."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in")


class SignupForm(FlaskForm):
    """Creates a tenant and its first user."""

    tenant_name = StringField("Company or workspace name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[
        DataRequired(), Regexp(EMAIL_PATTERN, message="Enter a valid email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")])

    def validate_password(self, field):
        """Apply the shared strength rule."""
        problems = password_problems(field.data or "", self.email.data or "")
        if problems:
            raise ValidationError(" ".join(problems))


class ResetPasswordForm(FlaskForm):
    """A new password, reached through a one-time link."""

    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("password", "Passwords differ.")])

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def validate_password(self, field):
        """Apply the shared strength rule."""
        problems = password_problems(field.data or "", self.email)
        if problems:
            raise ValidationError(" ".join(problems))
