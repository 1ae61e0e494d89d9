"""Per-workspace quotas: contacts stored and messages queued per UTC day, refused where the action happens.

An admin may set a workspace's own figures (Tenant.quota_*); empty means the install's default
(QUOTA_CONTACTS, QUOTA_MESSAGES_PER_DAY). Refusals say the numbers: the limit, what is used and what is left.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models import Contact, Message, Tenant
from models.base import utcnow
from models.tenancy import current_tenant_id
from services.errors import Invalid


class QuotaExceeded(Invalid):
    """An action would go past a quota; the message carries the numbers."""


@dataclass(frozen=True)
class Usage:
    """One quota: its limit and what is used of it."""

    limit: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.limit)) if self.limit else 100


def contact_limit(tenant: Tenant) -> int:
    """The workspace's contact quota (its own, or the install's default)."""
    return tenant.quota_contacts if tenant.quota_contacts is not None else current_app.config["QUOTA_CONTACTS"]


def message_limit(tenant: Tenant) -> int:
    """The workspace's messages-per-day quota (its own, or the install's default)."""
    own = tenant.quota_messages_per_day
    return own if own is not None else current_app.config["QUOTA_MESSAGES_PER_DAY"]


def _tenant() -> Tenant:
    return db.session.get(Tenant, current_tenant_id())


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight UTC of `now`'s day: the daily quota counts from here."""
    return datetime.combine((now or utcnow()).date(), time.min, UTC)


def contact_usage(tenant: Tenant | None = None) -> Usage:
    """Contacts stored against the quota."""
    tenant = tenant or _tenant()
    return Usage(contact_limit(tenant), db.session.scalar(select(func.count(Contact.id))) or 0)


def message_usage(tenant: Tenant | None = None) -> Usage:
    """Outbound messages queued today (UTC) against the daily quota."""
    tenant = tenant or _tenant()
    used = db.session.scalar(select(func.count(Message.id)).where(
        Message.direction == Message.OUTBOUND, Message.created_at >= start_of_day())) or 0
    return Usage(message_limit(tenant), used)


def ensure_contact_room(adding: int = 1) -> None:
    """Refuse adding `adding` contacts past the workspace's contact quota."""
    usage = contact_usage()
    if usage.used + adding > usage.limit:
        raise QuotaExceeded({"": f"This workspace has reached its limit of {usage.limit:,} contacts "
                                 f"({usage.used:,} stored, {usage.left:,} left). Delete some or ask support "
                                 f"for a higher limit."})


def ensure_message_room(sending: int = 1) -> None:
    """Refuse queueing `sending` messages past the workspace's daily quota."""
    usage = message_usage()
    if usage.used + sending > usage.limit:
        need = f"; this needs {sending:,}" if sending > 1 else ""
        unit = "message" if usage.limit == 1 else "messages"
        raise QuotaExceeded({"": f"Daily message limit reached: {usage.limit:,} {unit} a day, {usage.used:,} "
                                 f"queued today, {usage.left:,} left{need}. It resets at midnight UTC."})
