"""Trigger kinds: which domain event (or the daily clock) starts a workflow, and whether an event matches."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from extensions import db
from models import DripSequence, Stage, Tag
from services.workflows.steps import Field

DAILY = "schedule.daily"
MATCHES = (("any", "any message"), ("keyword", "contains the keyword"), ("regex", "matches the pattern"))
PATTERN_MAX = 200


@dataclass(frozen=True)
class TriggerKind:
    """A trigger: its label, settings, and `match(event, config) -> (matched, text for the log)`."""

    kind: str
    label: str
    fields: tuple[Field, ...]
    match: Any = None


def keyword_found(text: str, keyword: str) -> bool:
    """The keyword appears as a whole word (or phrase), ignoring case."""
    return re.search(rf"(?<!\w){re.escape(keyword.strip())}(?!\w)", text or "", re.IGNORECASE) is not None


def _message(event, config: dict) -> tuple[bool, str]:
    text = str((event.data or {}).get("text") or "")
    how, value = config.get("match", "any"), str(config.get("value") or "")
    if how == "keyword":
        found = keyword_found(text, value)
        return found, f"message {text[:80]!r} contains {value!r}: {'yes' if found else 'no'}"
    if how == "regex":
        found = re.search(value, text, re.IGNORECASE) is not None
        return found, f"message {text[:80]!r} matches /{value}/: {'yes' if found else 'no'}"
    return True, f"message {text[:80]!r} received"


def _name(model, object_id) -> str:
    return db.session.scalar(select(model.name).where(model.id == object_id)) or f"#{object_id}"


def _subject(model, key: str, what: str):
    """Match an event whose subject (or data[key]) is the configured object, or any when none is set."""
    def match(event, config: dict) -> tuple[bool, str]:
        wanted = config.get(key)
        actual = (event.data or {}).get("to_stage_id") if key == "stage_id" else event.subject_id
        found = wanted is None or actual == wanted
        return found, f"{what} {_name(model, actual)}" + ("" if wanted is None else f" (wanted {_name(model, wanted)})")
    return match


def _contact_created(event, _config: dict) -> tuple[bool, str]:
    return True, f"contact created ({(event.data or {}).get('source', 'unknown')})"


_ANY_TAG = Field("tag_id", "Tag (empty: any)", "tag", required=False)
TRIGGERS: dict[str, TriggerKind] = {t.kind: t for t in (
    TriggerKind("message.received", "Message received", (
        Field("match", "When the message is", "choice", MATCHES),
        Field("value", "Keyword or pattern", required=False)), _message),
    TriggerKind("contact.created", "Contact created", (), _contact_created),
    TriggerKind("tag.added", "Tag added", (_ANY_TAG,), _subject(Tag, "tag_id", "tag added:")),
    TriggerKind("tag.removed", "Tag removed", (_ANY_TAG,), _subject(Tag, "tag_id", "tag removed:")),
    TriggerKind("deal.stage_changed", "Deal stage changed", (
        Field("stage_id", "Into stage (empty: any)", "stage", required=False),),
        _subject(Stage, "stage_id", "deal moved to")),
    TriggerKind("drip.completed", "Sequence completed", (
        Field("sequence_id", "Sequence (empty: any)", "sequence", required=False),),
        _subject(DripSequence, "sequence_id", "completed sequence")),
    TriggerKind(DAILY, "Every day at", (
        Field("time", "Time (workspace zone)", "time"),
        Field("tag_id", "For contacts tagged", "tag")), None),
)}


def trigger_problems(kind: str, config: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a message trigger's keyword or pattern, by field name."""
    if kind != "message.received" or config.get("match", "any") == "any":
        return {}
    value = str(config.get("value") or "").strip()
    if not value:
        return {"trigger-value": "Enter the keyword or pattern."}
    if len(value) > PATTERN_MAX:
        return {"trigger-value": f"Keep it under {PATTERN_MAX} characters."}
    if config.get("match") == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            return {"trigger-value": f"The pattern does not read: {exc}."}
    return {}
