"""Broadcast form: name, audience, content (text or template) and when; the rules live in services.broadcasts."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField

from models import Broadcast, MessageTemplate
from services.broadcasts.content import FIXED, template_variable_names

AUDIENCES = [("all", "All contacts"), ("tags", "Contacts with any of these tags"), ("segment", "A segment")]
CONTENTS = [("text", "Text"), ("template", "Approved template")]
WHEN = [("now", "Send now"), ("later", "Schedule")]
SOURCE_LABELS = [("name", "Contact name"), ("first_name", "First name"), ("phone", "Phone"), ("email", "Email"),
                 (FIXED, "Fixed text")]


class BroadcastForm(FlaskForm):
    """Create or edit a draft broadcast."""

    name = StringField("Name")
    audience_kind = RadioField("Audience", choices=AUDIENCES, default="all")
    tag_ids = SelectMultipleField("Tags", validate_choice=False)
    segment_id = SelectField("Segment", validate_choice=False)
    content = RadioField("Content", choices=CONTENTS, default="text")
    body = TextAreaField("Message", description="Personalise with {{name}}, {{first_name}} or {{custom.<field>}}; "
                                                "add a fallback after a bar: {{first_name|there}}.")
    template_id = SelectField("Template", validate_choice=False)
    when = RadioField("When", choices=WHEN, default="now")
    day = StringField("Date")
    at = StringField("Time")


def prepare(form: BroadcastForm, tags, segments, templates) -> BroadcastForm:
    form.tag_ids.choices = [(str(t.id), t.name) for t in tags]
    form.segment_id.choices = [("", "Choose a segment…"), *((str(s.id), s.name) for s in segments)]
    form.template_id.choices = [("", "Choose a template…"),
                                *((str(t.id), f"{t.name} ({t.language})") for t in templates)]
    return form


def variables_from(raw, template: MessageTemplate | None) -> list[dict[str, str]]:
    """The template variable mappings typed in the form (source_<i>, value_<i>).

    Before any is chosen, the first variable takes the contact's name (templates usually greet first).
    """
    return [{"source": raw.get(f"source_{i}") or ("name" if i == 0 else FIXED), "value": raw.get(f"value_{i}") or ""}
            for i in range(len(template_variable_names(template)))]


def data_from(form: BroadcastForm, raw, template: MessageTemplate | None) -> dict[str, Any]:
    """What services.broadcasts.save_broadcast reads."""
    return {"name": form.name.data, "content": form.content.data, "body": form.body.data,
            "template_id": form.template_id.data, "variables": variables_from(raw, template),
            "audience": {"kind": form.audience_kind.data, "tag_ids": form.tag_ids.data or [],
                         "segment_id": form.segment_id.data},
            "when": form.when.data, "day": form.day.data, "at": form.at.data}


def form_data(broadcast: Broadcast, template: MessageTemplate | None, zone) -> dict[str, Any]:
    """Initial form data from a saved draft (the schedule shown in the workspace's zone)."""
    audience = broadcast.audience or {}
    data = {"name": broadcast.name, "audience_kind": audience.get("kind", "all"),
            "tag_ids": [str(t) for t in audience.get("tag_ids", [])], "segment_id": str(audience.get("segment_id", "")),
            "content": "template" if broadcast.template_name else "text", "body": broadcast.body or "",
            "template_id": str(template.id) if template else "", "when": "later" if broadcast.scheduled_at else "now"}
    if broadcast.scheduled_at:
        local = broadcast.scheduled_at.astimezone(zone)
        data.update(day=local.date().isoformat(), at=local.strftime("%H:%M"))
    return data
