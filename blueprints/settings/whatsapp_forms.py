"""Settings › WhatsApp forms: the Cloud API credentials (the rules live in services.linking)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import Optional


class CloudForm(FlaskForm):
    """Cloud API credentials; secrets are write-only (blank keeps the stored value)."""

    phone_number_id = StringField("Phone number ID")
    waba_id = StringField("WhatsApp Business Account ID")
    access_token = PasswordField("Access token")
    app_secret = PasswordField("App secret")
    rate_per_second = IntegerField("Sending rate (messages per second)", validators=[Optional()],
                                   description="Meta allows 80 by default and up to 1,000 once your account "
                                               "is upgraded. Leave empty for 80.")
