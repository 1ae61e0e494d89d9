"""Contact form: fields only; the rules live in services.contacts so every entry point shares them."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectMultipleField, StringField, TextAreaField, widgets


class ContactForm(FlaskForm):
    """Create or edit a contact."""

    name = StringField("Name")
    phone = StringField("Phone", description="With country code (+44 20 …) or in your default region's format.")
    email = EmailField("Email")
    tags = SelectMultipleField(
        "Tags", coerce=int, validate_choice=False,
        widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput(),
    )
    custom_fields = TextAreaField("Custom fields", description="One per line, as “key: value”.")
    notes = TextAreaField("First note", description="Starts the contact's notes timeline.")
