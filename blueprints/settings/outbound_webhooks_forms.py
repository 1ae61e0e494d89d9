"""Settings › Webhooks form: a URL and the events it receives (the rules live in services.outbound_webhooks)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets

from services.outbound_webhooks import EVENTS


class WebhookForm(FlaskForm):
    """Where the events go, and which ones."""

    url = StringField("URL", description="An HTTPS address of yours, like https://example.com/hooks/messagehub.")
    # Choices are checked by the service, which says so in words (WTForms says "Not a valid choice").
    events = SelectMultipleField("Events", choices=list(EVENTS.items()), validate_choice=False,
                                 widget=widgets.ListWidget(prefix_label=False),
                                 option_widget=widgets.CheckboxInput())
