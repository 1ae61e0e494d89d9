"""The form that makes an API key."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from models import ApiKey


class ApiKeyForm(FlaskForm):
    """A key's name and what it may do."""

    name = StringField("Name", validators=[DataRequired("Name the key (what uses it)."), Length(max=ApiKey.NAME_MAX)],
                       description="What will use this key, e.g. “Shop backend”.")
    access = RadioField("Access", choices=[("read", "Read only"), ("write", "Read and write")], default="read",
                        validators=[DataRequired("Choose read, or read and write.")])
