"""The usage rollup behind the admin tenants list: grouped counts written per workspace, never per page view.

`usage_days` holds each workspace's messages per UTC day; a run rewrites only yesterday and today (older days
do not change), then rewrites `tenant_stats` from it, the last 24 hours and the contacts table.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Select, case, delete, func, insert, select

from extensions import db
from models import Channel, Contact, Message, Tenant, TenantStats, UsageDay
from models.base import utcnow
from models.tenancy import unscoped

DAYS = 30


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _message_counts(since: datetime, until: datetime) -> dict[int, tuple[int, int, int]]:
    """{tenant id: (sent, received, failed)} for messages created in [since, until)."""
    out = case((Message.direction == Message.OUTBOUND, 1), else_=0)
    inbound = case((Message.direction != Message.OUTBOUND, 1), else_=0)
    failed = case((Message.status == "failed", 1), else_=0)
    rows = db.session.execute(
        select(Message.tenant_id, func.sum(out), func.sum(inbound), func.sum(failed))
        .where(Message.created_at >= since, Message.created_at < until).group_by(Message.tenant_id))
    return {tenant: (int(s or 0), int(r or 0), int(f or 0)) for tenant, s, r, f in rows}


def roll_up_days(now: datetime | None = None) -> int:
    """Rewrite yesterday's and today's rows of usage_days; returns how many were written."""
    now = now or utcnow()
    written = 0
    with unscoped():
        for day in (now.date() - timedelta(days=1), now.date()):
            counts = _message_counts(_day_start(day), _day_start(day + timedelta(days=1)))
            db.session.execute(delete(UsageDay).where(UsageDay.day == day))
            rows = [{"tenant_id": t, "day": day, "sent": s, "received": r, "failed": f}
                    for t, (s, r, f) in counts.items()]
            if rows:
                db.session.execute(insert(UsageDay), rows)
            written += len(rows)
    return written


def refresh_stats(now: datetime | None = None) -> int:
    """Roll up the days, then rewrite every workspace's figures in one transaction; returns workspaces written."""
    now = now or utcnow()
    roll_up_days(now)
    with unscoped():
        last_day = _message_counts(now - timedelta(hours=24), now + timedelta(seconds=1))
        month = {t: (int(s or 0), int(r or 0)) for t, s, r in db.session.execute(
            select(UsageDay.tenant_id, func.sum(UsageDay.sent), func.sum(UsageDay.received))
            .where(UsageDay.day > now.date() - timedelta(days=DAYS)).group_by(UsageDay.tenant_id))}
        contacts = dict(db.session.execute(select(Contact.tenant_id, func.count()).group_by(Contact.tenant_id)).all())
        media = _media_bytes()
        activity = dict(db.session.execute(select(Channel.tenant_id, Channel.last_activity_at)).all())
        latest = dict(db.session.execute(
            select(Message.tenant_id, func.max(Message.created_at))
            .where(Message.created_at >= now - timedelta(days=DAYS)).group_by(Message.tenant_id)).all())
        tenant_ids = list(db.session.scalars(select(Tenant.id)))
        rows = []
        for tenant_id in tenant_ids:
            sent, received, failed = last_day.get(tenant_id, (0, 0, 0))
            moments = [m for m in (activity.get(tenant_id), latest.get(tenant_id)) if m is not None]
            rows.append({"tenant_id": tenant_id, "sent_24h": sent, "received_24h": received, "failed_24h": failed,
                         "sent_30d": month.get(tenant_id, (0, 0))[0], "received_30d": month.get(tenant_id, (0, 0))[1],
                         "contacts": contacts.get(tenant_id, 0), "media_bytes": media.get(tenant_id, 0),
                         "last_activity_at": max(moments, key=_utc) if moments else None, "refreshed_at": now})
        db.session.execute(delete(TenantStats))
        if rows:
            db.session.execute(insert(TenantStats), rows)
    return len(rows)


def _media_bytes() -> dict[int, int]:
    """{tenant id: bytes of media files stored}: the sizes recorded on messages (a file saved by services/
    media_store gets `path` and `size` in Message.media; media not downloaded yet has neither, and counts 0)."""
    return {tenant: int(total or 0) for tenant, total in db.session.execute(media_totals())}


def media_totals() -> Select:
    """SELECT of (tenant id, summed media size); on PostgreSQL migration 0016's partial index answers it."""
    return (select(Message.tenant_id, func.sum(Message.media["size"].as_integer()))
            .where(Message.media.is_not(None)).group_by(Message.tenant_id))


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes from max(); they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
