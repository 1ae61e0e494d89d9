"""Segment filters: the operators, their validation, and their compilation to one SQL criterion.

A filter is JSON: `{"version": 1, "conditions": [{"op": "tags_any", "tags": [3, 5]}, ...]}`; every
condition must hold (AND). Each operator names the inputs it reads (tags, text, key, date, days), so
forms can offer the right fields and validation can say which input is wrong. Compiling never loads
contacts: it returns a criterion on `Contact` (EXISTS subqueries for tags), scoped like any ORM query.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, select, true

from extensions import db
from models import Contact, ContactTag, Tag
from models.base import utcnow
from models.contact import CUSTOM_FIELDS_JSONB
from services.errors import Invalid
from services.text_search import ESCAPE, contains_pattern

VERSION = 1
CONDITIONS_MAX = 20
TEXT_MAX = 100
KEY_MAX = 50  # as services.contacts allows for custom field names
DAYS_MAX = 365


@dataclass(frozen=True)
class Operator:
    """One kind of condition: its label for pickers, the inputs it reads, and how it becomes SQL."""

    label: str
    inputs: tuple[str, ...]
    compile: Callable[[dict[str, Any], ZoneInfo], ColumnElement[bool]]


def _has_tag(tag_ids) -> ColumnElement[bool]:
    # Correlated on the contact; the tenant scope adds contact_tags.tenant_id, which leads the indexes.
    return select(ContactTag.id).where(ContactTag.contact_id == Contact.id, ContactTag.tag_id.in_(tag_ids)).exists()


def _tags_all(c, _zone):
    return and_(*(_has_tag([tag_id]) for tag_id in c["tags"]))


def _contains(column_of):
    def build(c, _zone):
        return column_of().like(contains_pattern(c["text"].lower()), escape=ESCAPE)
    return build


def _custom(key: str):
    """The contact's custom field `key` as text; NULL when it has none."""
    if db.session.get_bind().dialect.name == "postgresql":
        # The jsonb copy (migration 0024) is parsed already: ->> on the json column parses each row's text again.
        return CUSTOM_FIELDS_JSONB[key].astext
    return Contact.custom_fields[key].as_string()


def _custom_set(c, _zone):
    # Set = present and not empty. coalesce reads the field once a row and keeps the answer true or false, never
    # unknown, so a negated condition stays right too.
    return func.coalesce(_custom(c["key"]), "") != ""


def _day_start(value: str, zone: ZoneInfo) -> datetime:
    """Midnight of an ISO date in the workspace's time zone, as UTC."""
    return datetime.combine(date.fromisoformat(value), time(), zone).astimezone(UTC)


# The registry of operators, in the order pickers show them.
OPERATORS: dict[str, Operator] = {
    "tags_any": Operator("has any of the tags", ("tags",), lambda c, _z: _has_tag(c["tags"])),
    "tags_all": Operator("has all of the tags", ("tags",), _tags_all),
    "tags_none": Operator("has none of the tags", ("tags",), lambda c, _z: ~_has_tag(c["tags"])),
    "name_contains": Operator("name contains", ("text",), _contains(lambda: func.lower(Contact.name))),
    "phone_contains": Operator("phone contains", ("text",), _contains(lambda: Contact.phone)),
    "email_contains": Operator("email contains", ("text",), _contains(lambda: func.lower(Contact.email))),
    # Values are compared case-insensitively: "Lisbon" and "lisbon" were typed by people.
    "custom_equals": Operator("custom field equals", ("key", "text"),
                              lambda c, _z: func.lower(_custom(c["key"])) == c["text"].lower()),
    "custom_set": Operator("custom field is set", ("key",), _custom_set),
    "created_before": Operator("created before", ("date",),
                               lambda c, zone: Contact.created_at < _day_start(c["date"], zone)),
    "created_after": Operator("created after", ("date",),
                              lambda c, zone: Contact.created_at >= _day_start(c["date"], zone) + timedelta(days=1)),
    "inbound_within": Operator("wrote to us within (days)", ("days",),
                               lambda c, _z: Contact.last_inbound_at >= utcnow() - timedelta(days=c["days"])),
}


# Conditions on the contact's own columns; tags (and registered operators) probe other tables by their indexes.
_ROW_OPERATORS = frozenset({"name_contains", "phone_contains", "email_contains", "custom_equals", "custom_set",
                            "created_before", "created_after", "inbound_within"})


def counts_by_trigrams(definition: dict[str, Any]) -> bool:
    """Whether a count of this filter should read the trigram indexes (services.text_search.trigram_lookups).

    Yes when it searches for 3 characters or more (a trigram) and reads nothing but the contact's row: left to
    itself PostgreSQL walks the workspace computing lower() on every row (name has "ana", created in 2 weeks:
    38 ms, 13 ms through the index). Not with tag conditions: switching index walks off takes the contact_tags
    probes away too (tags A and B, not C, name has "ana": 14 ms as planned, 40 ms without).
    """
    conditions = definition.get("conditions", [])
    searches = any(c["op"].endswith("_contains") and len(c["text"]) >= 3 for c in conditions)
    return searches and {c["op"] for c in conditions} <= _ROW_OPERATORS


def register_operator(name: str, operator: Operator) -> None:
    """Extension point for conditions on other aggregates.

    services.deals registers "has_open_deal" here when it is imported; an operator nobody registered is
    unknown, and validation refuses it like any other unknown operator.
    """
    if name in OPERATORS:
        raise ValueError(f"operator {name!r} is registered already")
    OPERATORS[name] = operator


def empty_definition() -> dict[str, Any]:
    """The filter that matches every contact."""
    return {"version": VERSION, "conditions": []}


def validate_definition(definition: Any) -> dict[str, Any]:
    """A clean copy of `definition`, or Invalid keyed `conditions-<i>-<input>` (i = position in the list)."""
    if not isinstance(definition, dict) or definition.get("version") != VERSION:
        raise Invalid({"conditions": f"This filter is not a version {VERSION} segment filter."})
    conditions = definition.get("conditions")
    if not isinstance(conditions, list):
        raise Invalid({"conditions": "The filter has no list of conditions."})
    if len(conditions) > CONDITIONS_MAX:
        raise Invalid({"conditions": f"Use at most {CONDITIONS_MAX} conditions."})
    errors: dict[str, str] = {}
    clean = []
    for index, condition in enumerate(conditions):
        try:
            clean.append(_clean_condition(condition))
        except Invalid as exc:
            errors.update({f"conditions-{index}-{name}": message for name, message in exc.errors.items()})
    _check_tags(clean, errors)
    if errors:
        raise Invalid(errors)
    return {"version": VERSION, "conditions": clean}


def _clean_condition(condition: Any) -> dict[str, Any]:
    op = condition.get("op") if isinstance(condition, dict) else None
    operator = OPERATORS.get(op) if isinstance(op, str) else None
    if operator is None:
        raise Invalid({"op": "Choose a condition from the list."})
    clean: dict[str, Any] = {"op": op}
    errors: dict[str, str] = {}
    for name in operator.inputs:
        try:
            clean[name] = CLEANERS[name](condition.get(name), op)
        except Invalid as exc:
            errors[name] = exc.errors[""]
    if errors:
        raise Invalid(errors)
    return clean


def _clean_tags(value: Any, _op: str) -> list[int]:
    values = value if isinstance(value, list) else []
    ids = sorted({int(v) for v in values if isinstance(v, int | str) and str(v).isdigit()})
    if not ids or len(ids) != len(set(map(str, values))):
        raise Invalid("Choose at least one of your tags.")
    return ids


def _clean_text(value: Any, op: str) -> str:
    text = " ".join(str(value or "").split())
    if op == "phone_contains":
        # Phones are stored as E.164 digits: "+1 (415)" searches for "1415".
        text = re.sub(r"\D", "", text)
        if not text:
            raise Invalid("Enter some digits of the phone number.")
    if not text:
        raise Invalid("Enter the text to look for." if op.endswith("_contains") else "Enter the value.")
    if len(text) > TEXT_MAX:
        raise Invalid(f"Keep it under {TEXT_MAX} characters.")
    return text


def _clean_key(value: Any, _op: str) -> str:
    key = str(value or "").strip()
    if not key:
        raise Invalid("Enter the custom field's name.")
    if len(key) > KEY_MAX:
        raise Invalid(f"Field names are under {KEY_MAX} characters.")
    if '"' in key or "\\" in key:
        # SQLite's JSON paths cannot quote these characters.
        raise Invalid("Field names used in segments cannot contain \" or \\.")
    return key


def _clean_date(value: Any, _op: str) -> str:
    try:
        return date.fromisoformat(str(value or "").strip()).isoformat()
    except ValueError:
        raise Invalid("Enter a date like 2026-01-31.") from None


def _clean_days(value: Any, _op: str) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise Invalid(f"Enter a number of days from 1 to {DAYS_MAX}.") from None
    if not 1 <= days <= DAYS_MAX:
        raise Invalid(f"Enter a number of days from 1 to {DAYS_MAX}.")
    return days


CLEANERS: dict[str, Callable[[Any, str], Any]] = {
    "tags": _clean_tags, "text": _clean_text, "key": _clean_key, "date": _clean_date, "days": _clean_days,
}


def _check_tags(conditions: list[dict[str, Any]], errors: dict[str, str]) -> None:
    """Every tag id must be one of this tenant's tags (the scoped SELECT cannot see another tenant's)."""
    wanted = {tag_id for c in conditions for tag_id in c.get("tags", ())}
    if not wanted:
        return
    known = set(db.session.scalars(select(Tag.id).where(Tag.id.in_(wanted))))
    for index, condition in enumerate(conditions):
        if set(condition.get("tags", ())) - known:
            errors[f"conditions-{index}-tags"] = "One of the chosen tags does not exist."


def compile_definition(definition: dict[str, Any], zone: ZoneInfo | None = None) -> ColumnElement[bool]:
    """One criterion on Contact for a validated definition; dates are days in `zone` (default UTC)."""
    zone = zone or ZoneInfo("UTC")
    parts = [OPERATORS[c["op"]].compile(c, zone) for c in definition.get("conditions", [])]
    return and_(true(), *parts)
