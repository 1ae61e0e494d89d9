"""The step registries: each trigger, condition and action kind is a label, its settings' fields and functions.

Adding an action is one function and one `register_action(...)` call: the editor builds its form from the
fields, the validator checks them, the runner and the dry run call the functions.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from extensions import db
from models import Contact, DripSequence, MessageTemplate, Stage, Tag, WebhookSubscription

TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
TEXT_LIMIT = 4096
# Field kinds whose value is one of the workspace's objects, and the model each names.
REFERENCES = {"tag": Tag, "stage": Stage, "sequence": DripSequence, "template": MessageTemplate,
              "webhook": WebhookSubscription}


@dataclass(frozen=True)
class Field:
    """One setting of a step: `input` is text, textarea, number, time, choice, weekdays or a reference kind."""

    name: str
    label: str
    input: str = "text"
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = True
    help: str = ""


@dataclass
class Context:
    """What a condition or an action sees: the contact, the event's data, the clock and the workspace's zone."""

    contact: Contact
    now: datetime
    zone: ZoneInfo
    data: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    workflow_id: int | None = None
    user_id: int | None = None   # who made the workflow: tasks and deals it creates are theirs


@dataclass(frozen=True)
class StepKind:
    """A registered kind: `run` does it (actions) or answers it (conditions: (passed, why)); `describe` for the
    dry run says what would happen without changing anything."""

    kind: str
    label: str
    fields: tuple[Field, ...]
    run: Callable[..., Any] | None = None
    describe: Callable[..., str] | None = None


CONDITIONS: dict[str, StepKind] = {}
ACTIONS: dict[str, StepKind] = {}


def register_condition(step: StepKind) -> StepKind:
    """Add a condition kind (import time)."""
    CONDITIONS[step.kind] = step
    return step


def register_action(step: StepKind) -> StepKind:
    """Add an action kind (import time); `run(ctx, config) -> str` returns the outcome for the log."""
    ACTIONS[step.kind] = step
    return step


def reference(kind: str, value: Any):
    """The workspace's object a reference field names, or None."""
    raw = str(value or "")
    if not raw.isdigit():
        return None
    model = REFERENCES[kind]
    return db.session.scalar(select(model).where(model.id == int(raw)))


def clean_config(fields: tuple[Field, ...], raw: dict[str, Any], prefix: str, errors: dict[str, str]
                 ) -> dict[str, Any]:
    """The settings of one step as stored, from what the form sent; problems go into `errors` by field name."""
    config: dict[str, Any] = {}
    for spec in fields:
        key = f"{prefix}{spec.name}"
        value = raw.get(spec.name)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, "", []):
            if spec.required:
                errors[key] = f"{spec.label}: fill this in."
            continue
        if spec.input == "number":
            if not str(value).isdigit() or not 0 < int(value) <= 100_000:
                errors[key] = f"{spec.label}: a whole number from 1 to 100000."
                continue
            value = int(value)
        elif spec.input == "time":
            if not TIME.match(str(value)):
                errors[key] = f"{spec.label}: a time as HH:MM (24-hour)."
                continue
        elif spec.input == "choice":
            if value not in {c for c, _ in spec.choices}:
                errors[key] = f"{spec.label}: choose one of the options."
                continue
        elif spec.input == "weekdays":
            days = value if isinstance(value, list) else str(value).split(",")
            days = sorted({int(d) for d in days if str(d).strip().isdigit() and 0 <= int(d) <= 6})
            if not days:
                errors[key] = f"{spec.label}: tick at least one day."
                continue
            value = days
        elif spec.input in REFERENCES:
            found = reference(spec.input, value)
            if found is None or (spec.input == "template" and not found.is_approved):
                approved = " (approved)" if spec.input == "template" else ""
                errors[key] = f"{spec.label}: choose one of yours{approved}."
                continue
            value = found.id
        elif len(str(value)) > TEXT_LIMIT:
            errors[key] = f"{spec.label}: at most {TEXT_LIMIT} characters."
            continue
        config[spec.name] = value
    return config
