"""Condition kinds: each answers (passed, why) for a contact, reading only (the dry run calls them too)."""
from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import select

from extensions import db
from models import ContactTag, Deal, Stage, Tag
from services.channels import get_channel
from services.outbox import window_open
from services.workflows.steps import Context, Field, StepKind, register_condition

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FIELD_HELP = "name, email, phone, or a custom field's key"


def _name(model, object_id: Any) -> str:
    found = db.session.scalar(select(model.name).where(model.id == object_id))
    return found or f"#{object_id} (deleted)"


def _has_tag(ctx: Context, config: dict) -> bool:
    return db.session.scalar(select(ContactTag.id).where(ContactTag.contact_id == ctx.contact.id,
                                                         ContactTag.tag_id == config["tag_id"])) is not None


def has_tag(ctx: Context, config: dict) -> tuple[bool, str]:
    """The contact has the tag."""
    passed = _has_tag(ctx, config)
    return passed, f"has tag {_name(Tag, config['tag_id'])}: {'yes' if passed else 'no'}"


def lacks_tag(ctx: Context, config: dict) -> tuple[bool, str]:
    """The contact does not have the tag."""
    passed = not _has_tag(ctx, config)
    return passed, f"lacks tag {_name(Tag, config['tag_id'])}: {'yes' if passed else 'no'}"


def field_value(contact, key: str) -> str:
    """A contact's field by name (name, email, phone) or custom key, as text."""
    key = key.strip()
    if key in ("name", "email", "phone"):
        return str(getattr(contact, key) or "")
    return str((contact.custom_fields or {}).get(key.removeprefix("custom."), "") or "")


def field_equals(ctx: Context, config: dict) -> tuple[bool, str]:
    """The field equals the value (ignoring case and surrounding spaces)."""
    value = field_value(ctx.contact, config["field"])
    passed = value.strip().casefold() == str(config["value"]).strip().casefold()
    return passed, f"{config['field']} is {value!r}, equals {config['value']!r}: {'yes' if passed else 'no'}"


def field_contains(ctx: Context, config: dict) -> tuple[bool, str]:
    """The field contains the value (ignoring case)."""
    value = field_value(ctx.contact, config["field"])
    passed = str(config["value"]).strip().casefold() in value.casefold()
    return passed, f"{config['field']} is {value!r}, contains {config['value']!r}: {'yes' if passed else 'no'}"


def window_is(ctx: Context, config: dict) -> tuple[bool, str]:
    """The 24-hour customer-service window is open (or closed, as asked)."""
    is_open = window_open(ctx.contact, get_channel())
    passed = is_open == (config["state"] == "open")
    return passed, f"window {'open' if is_open else 'closed'}, wanted {config['state']}: {'yes' if passed else 'no'}"


def deal_in_stage(ctx: Context, config: dict) -> tuple[bool, str]:
    """The contact has a deal in the stage."""
    passed = db.session.scalar(select(Deal.id).where(Deal.contact_id == ctx.contact.id,
                                                     Deal.stage_id == config["stage_id"]).limit(1)) is not None
    return passed, f"deal in stage {_name(Stage, config['stage_id'])}: {'yes' if passed else 'no'}"


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def time_between(ctx: Context, config: dict) -> tuple[bool, str]:
    """The workspace's local time is within [from, to) (a range past midnight wraps), on one of the days."""
    local = ctx.now.astimezone(ctx.zone)
    start, end, now = _clock(config["start"]), _clock(config["end"]), local.time().replace(tzinfo=None)
    in_hours = start <= now < end if start <= end else (now >= start or now < end)
    days = config.get("days") or list(range(7))
    passed = in_hours and local.weekday() in days
    return passed, (f"local time {local:%a %H:%M} within {config['start']}-{config['end']} on "
                    f"{','.join(WEEKDAYS[d] for d in days)}: {'yes' if passed else 'no'}")


_TAG = (Field("tag_id", "Tag", "tag"),)
_FIELD = (Field("field", "Field", help=FIELD_HELP), Field("value", "Value"))
register_condition(StepKind("has_tag", "Contact has tag", _TAG, has_tag))
register_condition(StepKind("lacks_tag", "Contact lacks tag", _TAG, lacks_tag))
register_condition(StepKind("field_equals", "Field equals", _FIELD, field_equals))
register_condition(StepKind("field_contains", "Field contains", _FIELD, field_contains))
register_condition(StepKind("window", "Customer-service window", (
    Field("state", "Window is", "choice", (("open", "open"), ("closed", "closed"))),), window_is))
register_condition(StepKind("deal_in_stage", "Contact has a deal in stage", (Field("stage_id", "Stage", "stage"),),
                            deal_in_stage))
register_condition(StepKind("time_between", "Time of day and weekday", (
    Field("start", "From", "time"), Field("end", "Until", "time"),
    Field("days", "Days", "weekdays", tuple((str(n), d) for n, d in enumerate(WEEKDAYS)), required=False)),
    time_between))
