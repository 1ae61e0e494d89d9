"""What a broadcast says to each contact: text with placeholders, or an approved template with mapped variables.

Placeholders are `{{name}}`, `{{first_name}}` and `{{custom.<key>}}`, each with an optional fallback
after a bar (`{{first_name|there}}`) used when the contact has no value. They are checked when the
broadcast is saved and filled per contact in Python when its messages are queued.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from extensions import db
from models import Broadcast, Contact, MessageTemplate
from services.outbox import TEXT_MAX, SendRefused
from services.outbox.enqueue import template_content
from services.templates import value_from_contact, variables_of

PLACEHOLDER = re.compile(r"\{\{\s*([^{}|]*?)\s*(?:\|([^{}]*))?\}\}")
CUSTOM_KEY = re.compile(r"^custom\.([A-Za-z0-9_ -]{1,64})$")
SIMPLE = ("name", "first_name")
# Where a template variable takes its value: a contact attribute, a custom field, or fixed text.
SOURCES = ("name", "first_name", "phone", "email")
FIXED = "custom"


def placeholder_problems(body: str) -> list[str]:
    """Why the placeholders in `body` cannot be filled (empty when they all can)."""
    problems = []
    for match in PLACEHOLDER.finditer(body or ""):
        key = match.group(1)
        if key not in SIMPLE and not CUSTOM_KEY.match(key):
            problems.append(f"Unknown placeholder {match.group(0)}: use {{{{name}}}}, {{{{first_name}}}} or "
                            "{{custom.<field>}}, with an optional fallback like {{first_name|there}}.")
    leftover = PLACEHOLDER.sub("", body or "")
    if "{{" in leftover or "}}" in leftover:
        problems.append("A placeholder is not closed: write it as {{name}}.")
    return problems


def _value(key: str, contact: Contact) -> str:
    if key == "name":
        return (contact.name or "").strip()
    if key == "first_name":
        return ((contact.name or "").strip().split() or [""])[0]
    found = CUSTOM_KEY.match(key)
    return str((contact.custom_fields or {}).get(found.group(1), "") or "").strip() if found else ""


def personalise(body: str, contact: Contact) -> str:
    """`body` with each placeholder replaced by the contact's value, or its fallback when it has none."""
    def fill(match: re.Match) -> str:
        return _value(match.group(1), contact) or (match.group(2) or "").strip()

    return PLACEHOLDER.sub(fill, body or "").strip()


def variable_value(spec: dict[str, Any], contact: Contact) -> str:
    """One template variable's value for `contact` from its mapping ({"source": ..., "value": ...})."""
    source = spec.get("source") or FIXED
    if source == FIXED:
        return str(spec.get("value") or "")
    if source == "first_name":
        return _value("first_name", contact)
    value = value_from_contact(source, contact) if source in SOURCES or source.startswith("field:") else ""
    return value or str(spec.get("value") or "")  # a mapped field left empty falls back to the typed text


def find_template(broadcast: Broadcast) -> MessageTemplate | None:
    """The approved template the broadcast names (by name and language: a sync may replace the row)."""
    if not broadcast.template_name:
        return None
    template = db.session.scalar(select(MessageTemplate).where(
        MessageTemplate.name == broadcast.template_name, MessageTemplate.language == broadcast.template_language))
    return template if template is not None and template.is_approved else None


@dataclass(frozen=True)
class Rendered:
    """One contact's message: the Message columns it needs, or why it cannot be sent."""

    type: str = "text"
    body: str = ""
    payload: dict | None = None
    refusal: str | None = None


def render_for(broadcast: Broadcast, contact: Contact, template: MessageTemplate | None = None) -> Rendered:
    """What `contact` receives from `broadcast` (the template is passed in when rendering many).

    Drip steps store their content in the same columns (body, template_name/_language/_variables) and
    are rendered here too.
    """
    if not broadcast.template_name:
        body = personalise(broadcast.body or "", contact)
        if len(body) > TEXT_MAX:
            return Rendered(refusal=f"With this contact's details the message has {len(body)} characters "
                                    f"(at most {TEXT_MAX}).")
        return Rendered(body=body) if body else Rendered(refusal="The message is empty for this contact.")
    template = template or find_template(broadcast)
    if template is None:
        return Rendered(refusal=f"The template {broadcast.template_name} is no longer approved.")
    values = [variable_value(spec, contact) for spec in broadcast.template_variables or []]
    try:
        text, payload = template_content(template, values)
    except SendRefused as exc:
        return Rendered(refusal=str(exc))
    return Rendered(type="template", body=text, payload=payload)


def template_variable_names(template: MessageTemplate | None) -> list[str]:
    """The names of a template's variables in send order (header first)."""
    return [name for _kind, name in variables_of(template.components)] if template is not None else []


def approved_template(template_id: Any) -> MessageTemplate | None:
    """The tenant's approved template with id `template_id` (as typed in a form), or None."""
    raw = str(template_id or "")
    if not raw.isdigit():
        return None
    template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.id == int(raw)))
    return template if template is not None and template.is_approved else None


def clean_variables(template: MessageTemplate, raw: list[dict[str, Any]], errors: dict[str, str]) -> list[dict]:
    """One {"source", "value"} mapping per variable of `template`; a missing fixed value goes into `errors`."""
    names = template_variable_names(template)
    clean = []
    for index, name in enumerate(names):
        item = raw[index] if index < len(raw) else {}
        source = item.get("source") or FIXED
        if source not in (*SOURCES, FIXED) and not source.startswith("field:"):
            source = FIXED
        value = (item.get("value") or "").strip()
        if source == FIXED and not value:
            errors[f"variables-{index}"] = f"Fill in the value for {{{{{name}}}}}."
        clean.append({"source": source, "value": value})
    return clean


def clean_content(data: dict[str, Any], errors: dict[str, str]) -> tuple[str | None, MessageTemplate | None,
                                                                       list[dict] | None]:
    """A form's content, text with placeholders or an approved template with variables: (body, template, variables).

    Broadcasts and drip steps share it; problems go into `errors` under the field they belong to.
    """
    if data.get("content") == "template":
        template = approved_template(data.get("template_id"))
        if template is None:
            errors["template_id"] = "Choose an approved template."
            return None, None, None
        return None, template, clean_variables(template, data.get("variables") or [], errors)
    body = (data.get("body") or "").strip()
    problems = placeholder_problems(body)
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > TEXT_MAX:
        errors["body"] = f"Messages can have at most {TEXT_MAX} characters (this one has {len(body)})."
    elif problems:
        errors["body"] = " ".join(problems)
    return body, None, None
