"""Message templates: syncing from the Cloud API account, variables, preview and send components."""
from __future__ import annotations

import re
from functools import partial
from typing import Any

from sqlalchemy import select

from extensions import db
from models import Channel, Contact, MessageTemplate
from models.base import utcnow
from services.channels import ChannelSetupError, capabilities_for, provider_for

VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
VALUE_MAX = 1024


class TemplateInvalid(ValueError):
    """Variables do not fit the template."""


def _text_of(components: list[dict[str, Any]], kind: str) -> str:
    for component in components or []:
        if str(component.get("type", "")).upper() == kind and component.get("text"):
            if kind != "HEADER" or str(component.get("format", "TEXT")).upper() == "TEXT":
                return component["text"]
    return ""


def variables_of(components: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The template's variables in send order: (component, name), header first, then body."""
    found = []
    for kind in ("HEADER", "BODY"):
        seen = []
        for name in VARIABLE.findall(_text_of(components, kind)):
            if name not in seen:
                seen.append(name)
        found += [(kind.lower(), name) for name in seen]
    return found


def sync_templates(channel: Channel) -> dict[str, int]:
    """Mirror the account's templates (new, changed, gone); returns counts. Cloud API only."""
    if not capabilities_for(channel.kind).template_sync:
        raise ChannelSetupError("Templates come from a WhatsApp Cloud API account.")
    remote = provider_for(channel).list_templates()
    existing = {(t.name, t.language): t for t in db.session.scalars(select(MessageTemplate))}
    counts = {"added": 0, "updated": 0, "removed": 0}
    now = utcnow()
    for item in remote:
        key = (item.get("name", ""), item.get("language", ""))
        template = existing.pop(key, None)
        if template is None:
            template = MessageTemplate(name=key[0], language=key[1])
            db.session.add(template)
            counts["added"] += 1
        else:
            counts["updated"] += 1
        components = item.get("components") or []
        template.status = str(item.get("status", "UNKNOWN")).upper()
        template.category = item.get("category")
        template.components = components
        template.body_text = _text_of(components, "BODY")
        template.variable_count = len(variables_of(components))
        template.synced_at = now
    for template in existing.values():
        db.session.delete(template)
        counts["removed"] += 1
    db.session.flush()
    return counts


def _check(template: MessageTemplate, values: list[str]) -> list[tuple[str, str]]:
    wanted = variables_of(template.components)
    if len(values) != len(wanted):
        raise TemplateInvalid(f"{template.name} needs {len(wanted)} value(s), got {len(values)}.")
    for (_kind, name), value in zip(wanted, values, strict=True):
        if not (value or "").strip():
            raise TemplateInvalid(f"Fill in the value for {{{{{name}}}}}.")
        if len(value) > VALUE_MAX:
            raise TemplateInvalid(f"The value for {{{{{name}}}}} is longer than {VALUE_MAX} characters.")
    return wanted


def build_components(template: MessageTemplate, values: list[str]) -> list[dict[str, Any]]:
    """The `components` array of a Cloud API template send, with each variable filled."""
    wanted = _check(template, values)
    by_kind: dict[str, list[dict[str, str]]] = {}
    for (kind, name), value in zip(wanted, values, strict=True):
        parameter = {"type": "text", "text": value.strip()}
        if not name.isdigit():
            parameter["parameter_name"] = name  # named parameters must say which one they fill
        by_kind.setdefault(kind, []).append(parameter)
    return [{"type": kind, "parameters": params} for kind, params in by_kind.items()]


def render_text(template: MessageTemplate, values: list[str]) -> str:
    """What the customer will read: header and body with the variables filled in."""
    wanted = _check(template, values)
    filled = {(kind, name): value.strip() for (kind, name), value in zip(wanted, values, strict=True)}
    parts = []
    for kind in ("HEADER", "BODY"):
        text = _text_of(template.components, kind)
        if text:
            parts.append(VARIABLE.sub(partial(_fill, filled, kind.lower()), text))
    return "\n\n".join(parts)


def _fill(filled: dict[tuple[str, str], str], kind: str, match: re.Match) -> str:
    return filled.get((kind, match.group(1)), match.group(0))


def value_from_contact(source: str, contact: Contact) -> str:
    """A variable value from a contact: `name`, `phone`, `email`, `field:<key>`, or literal text."""
    if source == "name":
        return contact.name
    if source == "phone":
        return contact.phone
    if source == "email":
        return contact.email or ""
    if source.startswith("field:"):
        return str((contact.custom_fields or {}).get(source[len("field:"):], ""))
    return source
