"""The workspace's own settings: its name, phone region, time zone, opt-out keywords and history limits."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from sqlalchemy import select

from extensions import db
from models import Tenant
from models.tenancy import current_tenant_id
from services.errors import Invalid
from services.optout import parse_keywords


@dataclass
class WorkspaceSettings:
    """What the settings form carries, already checked field by field."""

    name: str
    default_region: str
    opt_out_keywords: str
    opt_in_keywords: str
    retention_days: int
    retention_max_messages: int
    time_zone: str | None = None  # None keeps the current zone


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone name this system knows, sorted (the settings form offers them)."""
    return tuple(sorted(available_timezones()))


def workspace_zone() -> ZoneInfo:
    """The current workspace's time zone, in which its schedules and dates are read (UTC when unset or unknown)."""
    name = db.session.scalar(select(Tenant.time_zone).where(Tenant.id == current_tenant_id()))
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_time_zone(name: str | None) -> bool:
    """Whether `name` is an IANA time zone that zoneinfo can load."""
    if not name or name not in time_zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _problems(settings: WorkspaceSettings) -> dict[str, str]:
    errors = {}
    if settings.default_region not in phonenumbers.SUPPORTED_REGIONS:
        errors["default_region"] = "Choose a phone region from the list."
    if settings.time_zone is not None and not is_time_zone(settings.time_zone):
        errors["time_zone"] = "Choose a time zone from the list, such as Europe/London or America/New_York."
    # A word cannot both stop and restart messages.
    both = set(parse_keywords(settings.opt_out_keywords)) & set(parse_keywords(settings.opt_in_keywords))
    if both:
        errors["opt_in_keywords"] = f"These words are in both lists: {', '.join(sorted(both))}."
    return errors


def save_settings(tenant: Tenant, settings: WorkspaceSettings) -> None:
    """Store the settings on `tenant`, keyword lists normalised (flushes; the caller commits)."""
    errors = _problems(settings)
    if errors:
        raise Invalid(errors)
    tenant.name = settings.name.strip()
    tenant.default_region = settings.default_region
    if settings.time_zone is not None:
        tenant.time_zone = settings.time_zone
    tenant.opt_out_keywords = ", ".join(parse_keywords(settings.opt_out_keywords))
    tenant.opt_in_keywords = ", ".join(parse_keywords(settings.opt_in_keywords))
    tenant.retention_days = settings.retention_days
    tenant.retention_max_messages = settings.retention_max_messages
    db.session.flush()
