"""The usage rollup behind the admin tenants list: grouped counts written per workspace, never per page view.

`usage_days` holds each workspace's messages per UTC day (by direction and outbound status) and its customer
turns with their answer times (services/response_times). A run rewrites the message counts of the last
COUNT_DAYS days and the response figures of the last RECENT_DAYS: older days no longer change (a receipt more
than a day late, or an answer more than a week late, is left out).
Then it rewrites `tenant_stats` from it, the last 24 hours and the contacts table.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, delete, func, insert, select

from extensions import db
from models import Channel, Contact, Message, PlatformDay, Tenant, TenantStats, UsageDay
from models.base import utcnow
from models.tenancy import unscoped
from models.tenant_stats import PLATFORM_COUNTS, WAIT_COLUMNS
from services.analytics import as_date
from services.response_times import DayFigures, daily_figures

DAYS = 30
# Days whose response figures each run rewrites. A week, not just today: answers keep arriving for days after a
# customer wrote, and a turn answered after its day was frozen would count as unanswered forever.
RECENT_DAYS = 7
# Days whose message counts each run rewrites (a count per day by status; receipts after that are left out):
# counting is a pass over the day's messages, so only today and yesterday pay it.
COUNT_DAYS = 2
COUNTS = ("sent", "received", "failed", "queued", "delivered", "read")


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _message_counts(since: datetime, until: datetime) -> dict[int, tuple[int, int, int]]:
    """{tenant id: (sent, received, failed)} for messages created in [since, until)."""
    return {tenant: counts[:3] for tenant, counts in _counts_by_status(since, until).items()}


def _counts_by_status(since: datetime, until: datetime) -> dict[int, tuple[int, ...]]:
    """{tenant id: (sent, received, failed, queued, delivered, read)} for messages created in [since, until)."""
    outbound = Message.direction == Message.OUTBOUND

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    rows = db.session.execute(
        select(Message.tenant_id, count(outbound), count(~outbound), count(Message.status == "failed"),
               *(count(and_(outbound, Message.status == status)) for status in ("queued", "delivered", "read")))
        .where(Message.created_at >= since, Message.created_at < until).group_by(Message.tenant_id))
    return {tenant: tuple(int(n or 0) for n in numbers) for tenant, *numbers in rows}


def roll_up_days(now: datetime | None = None, days: int = RECENT_DAYS, count_days: int = COUNT_DAYS) -> int:
    """Rewrite the last `days` days' rows of usage_days: response figures for each, message counts for the
    last `count_days` (older days keep theirs). More than the defaults only to fill in history, as `flask
    usage-rollup --days N` does after an upgrade; returns how many rows were written."""
    now = now or utcnow()
    first = now.date() - timedelta(days=days - 1)
    counted_from = now.date() - timedelta(days=count_days - 1)
    written = 0
    with unscoped():
        responses = daily_figures(first, now)
        kept = {(tenant, as_date(day)): tuple(numbers) for tenant, day, *numbers in db.session.execute(
            select(UsageDay.tenant_id, UsageDay.day, *(getattr(UsageDay, name) for name in COUNTS))
            .where(UsageDay.day >= first, UsageDay.day < counted_from))}
        db.session.execute(delete(UsageDay).where(UsageDay.day >= first, UsageDay.day <= now.date()))
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day >= counted_from:
                counts = _counts_by_status(_day_start(day), _day_start(day + timedelta(days=1)))
            else:
                counts = {tenant: numbers for (tenant, on), numbers in kept.items() if on == day}
            rows = [{"tenant_id": tenant, "day": day, **dict(zip(COUNTS, counts.get(tenant, (0,) * 6), strict=True)),
                     **responses.get((tenant, day), DayFigures()).columns()}
                    for tenant in counts.keys() | {t for t, d in responses if d == day}]
            if rows:
                db.session.execute(insert(UsageDay), rows)
            written += len(rows)
        _sum_platform_days(first, now.date())
    return written


def _sum_platform_days(first: date, last: date) -> None:
    """Rewrite platform_days for [first, last] from every workspace's usage_days (in the database, one statement)."""
    names = (*PLATFORM_COUNTS, *WAIT_COLUMNS)
    db.session.execute(delete(PlatformDay).where(PlatformDay.day >= first, PlatformDay.day <= last))
    db.session.execute(insert(PlatformDay).from_select(
        ["day", *names],
        select(UsageDay.day, *(func.sum(getattr(UsageDay, name)) for name in names))
        .where(UsageDay.day >= first, UsageDay.day <= last).group_by(UsageDay.day)))


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
