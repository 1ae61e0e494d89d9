"""Drip forms: a sequence's settings and one step; the rules live in services.drips."""
from __future__ import annotations

from datetime import time
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField

from blueprints.broadcasts.forms import variables_from
from models import DripSequence, DripStep, MessageTemplate
from models.drip import DelayFrom, DelayUnit
from services.drips.sequences import SequenceInput

DAYS = [("0", "Mon"), ("1", "Tue"), ("2", "Wed"), ("3", "Thu"), ("4", "Fri"), ("5", "Sat"), ("6", "Sun")]
UNITS = [(DelayUnit.MINUTES.value, "minutes"), (DelayUnit.HOURS.value, "hours"), (DelayUnit.DAYS.value, "days")]
FROMS = [(DelayFrom.PREVIOUS.value, "after the previous step (or enrolment, for the first)"),
         (DelayFrom.ENROLMENT.value, "after enrolment")]
CONTENTS = [("text", "Text"), ("template", "Approved template")]


class SequenceForm(FlaskForm):
    """A sequence's name, enrolment by tag, exit rules and send window."""

    name = StringField("Name")
    auto_enrol = BooleanField("Enrol contacts automatically when they get the tag")
    auto_enrol_tag_id = SelectField("Enrolment tag", validate_choice=False)
    allow_reenrol = BooleanField("Contacts who finished (or were stopped) may be enrolled again")
    exit_on_reply = BooleanField("Stop when the contact replies", default=True)
    exit_tag_id = SelectField("Stop when this tag is added", validate_choice=False)
    window_days = SelectMultipleField("Send on", choices=DAYS, validate_choice=False)
    window_start = StringField("From")
    window_end = StringField("Until")


def prepare_sequence_form(form: SequenceForm, tags) -> SequenceForm:
    choices = [(str(t.id), t.name) for t in tags]
    form.auto_enrol_tag_id.choices = [("", "No tag"), *choices]
    form.exit_tag_id.choices = [("", "No tag"), *choices]
    return form


def _hour(raw: str | None) -> time | None:
    try:
        return time.fromisoformat(raw.strip()) if raw and raw.strip() else None
    except ValueError:
        return None


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def sequence_input(form: SequenceForm) -> tuple[SequenceInput, dict[str, str]]:
    """What services.drips.sequences.save_sequence reads, and the hours that could not be read."""
    errors = {name: "Enter a time like 09:00." for name in ("window_start", "window_end")
              if getattr(form, name).data and _hour(getattr(form, name).data) is None}
    return SequenceInput(
        name=form.name.data or "", auto_enrol=form.auto_enrol.data, auto_enrol_tag_id=_id(form.auto_enrol_tag_id.data),
        allow_reenrol=form.allow_reenrol.data, exit_on_reply=form.exit_on_reply.data,
        exit_tag_id=_id(form.exit_tag_id.data),
        window_days=[int(d) for d in form.window_days.data or [] if d.isdigit()],
        window_start=_hour(form.window_start.data), window_end=_hour(form.window_end.data)), errors


def sequence_data(sequence: DripSequence) -> dict[str, Any]:
    """Initial form data from a saved sequence."""
    return {"name": sequence.name, "auto_enrol": sequence.auto_enrol,
            "auto_enrol_tag_id": str(sequence.auto_enrol_tag_id or ""), "allow_reenrol": sequence.allow_reenrol,
            "exit_on_reply": sequence.exit_on_reply, "exit_tag_id": str(sequence.exit_tag_id or ""),
            "window_days": [str(d) for d in sorted(sequence.window_weekdays)],
            "window_start": sequence.window_start.strftime("%H:%M") if sequence.window_start else "",
            "window_end": sequence.window_end.strftime("%H:%M") if sequence.window_end else ""}


class StepForm(FlaskForm):
    """One step: its delay and what it sends (template variables arrive as source_<n>/value_<n>)."""

    delay_value = StringField("Wait", default="1")
    delay_unit = SelectField("Unit", choices=UNITS, default=DelayUnit.DAYS.value, validate_choice=False)
    delay_from = SelectField("Counted from", choices=FROMS, default=DelayFrom.PREVIOUS.value, validate_choice=False)
    content = RadioField("Content", choices=CONTENTS, default="text")
    body = TextAreaField("Message", description="Personalise with {{name}}, {{first_name}} or {{custom.<field>}}; "
                                                "add a fallback after a bar: {{first_name|there}}.")
    template_id = SelectField("Template", validate_choice=False)


def prepare_step_form(form: StepForm, templates) -> StepForm:
    form.template_id.choices = [("", "Choose a template…"),
                                *((str(t.id), f"{t.name} ({t.language})") for t in templates)]
    return form


def step_input(form: StepForm, raw, template: MessageTemplate | None) -> dict[str, Any]:
    """What services.drips.sequences.save_step reads."""
    return {"delay_value": form.delay_value.data, "delay_unit": form.delay_unit.data,
            "delay_from": form.delay_from.data, "content": form.content.data, "body": form.body.data,
            "template_id": form.template_id.data, "variables": variables_from(raw, template)}


def step_data(step: DripStep, template: MessageTemplate | None) -> dict[str, Any]:
    """Initial form data from a saved step."""
    return {"delay_value": str(step.delay_value), "delay_unit": step.delay_unit, "delay_from": step.delay_from,
            "content": "template" if step.template_name else "text", "body": step.body or "",
            "template_id": str(template.id) if template else ""}
