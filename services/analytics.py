"""Analytics of the workspace in context (or, run by admin code without a scope, of the whole platform).

Every figure is one grouped query over a date range (at most MAX_DAYS): messages per day by direction and
status, opt-outs per day and broadcast performance. The response rate and median first response are read from
the usage rollup (services/response_times).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from extensions import db
from models import Broadcast, BroadcastRecipient, Contact, Message
from models.base import utcnow
from services.errors import Invalid

DEFAULT_DAYS = 30
MAX_DAYS = 366
STATUSES = ("queued", "sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class Range:
    """Whole UTC days from `since` to `until`, both included."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


def date_range(since: date | None = None, until: date | None = None, today: date | None = None) -> Range:
    """The range asked for, the last DEFAULT_DAYS days by default; refused when reversed or too long."""
    today = today or utcnow().date()
    until = until or today
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise Invalid({"since": "The start date is after the end date."})
    if (until - since).days >= MAX_DAYS:
        raise Invalid({"since": f"Choose at most {MAX_DAYS} days."})
    return Range(since, until)


def utc_day(column):
    """The UTC calendar day of a timestamp column, as the database spells it."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def as_date(value) -> date:
    """A day as the database returned it (a date, or text on SQLite) as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass
class Series:
    """A chart's data: x labels (days) and named series of the same length."""

    labels: list[str]
    series: dict[str, list[int]] = field(default_factory=dict)

    def as_chart(self) -> dict:
        """What static/js/charts.js draws: x as UNIX seconds, one line per series."""
        xs = [int(datetime.combine(date.fromisoformat(d), time.min, UTC).timestamp()) for d in self.labels]
        return {"x": xs, "series": [{"label": name, "values": values} for name, values in self.series.items()]}


def messages_over_time(span: Range) -> Series:
    """Per day: messages received, and messages sent by their current status."""
    day = utc_day(Message.created_at)
    rows = db.session.execute(
        select(day, Message.direction, Message.status, func.count(Message.id))
        .where(Message.created_at >= span.start, Message.created_at < span.end)
        .group_by(day, Message.direction, Message.status))
    labels = [d.isoformat() for d in span.days]
    index = {d: n for n, d in enumerate(labels)}
    series = {"received": [0] * len(labels), **{status: [0] * len(labels) for status in STATUSES}}
    for raw_day, direction, status, number in rows:
        position = index.get(as_date(raw_day).isoformat())
        if position is None:
            continue
        key = status if direction == Message.OUTBOUND and status in series else "received"
        series[key][position] += number
    return Series(labels, series)


def opt_outs(span: Range) -> Series:
    """Per day: contacts who opted out (and are still out)."""
    day = utc_day(Contact.opted_out_at)
    rows = db.session.execute(
        select(day, func.count(Contact.id)).where(Contact.opted_out.is_(True), Contact.opted_out_at >= span.start,
                                                  Contact.opted_out_at < span.end).group_by(day))
    labels = [d.isoformat() for d in span.days]
    counts = [0] * len(labels)
    index = {d: n for n, d in enumerate(labels)}
    for raw_day, number in rows:
        position = index.get(as_date(raw_day).isoformat())
        if position is not None:
            counts[position] += number
    return Series(labels, {"opt-outs": counts})


def broadcast_performance(span: Range, limit: int = 20) -> list[dict]:
    """Broadcasts started in the range, newest first: recipients, sent, delivered, read, failed and replied."""
    broadcasts = db.session.execute(
        select(Broadcast.id, Broadcast.name, Broadcast.started_at)
        .where(Broadcast.started_at >= span.start, Broadcast.started_at < span.end)
        .order_by(Broadcast.started_at.desc()).limit(limit)).all()
    if not broadcasts:
        return []
    ids = [b.id for b in broadcasts]
    reached = case((Message.status.in_(("sent", "delivered", "read")), 1), else_=0)
    delivered = case((Message.status.in_(("delivered", "read")), 1), else_=0)
    read = case((Message.status == "read", 1), else_=0)
    failed = case((Message.status == "failed", 1), else_=0)
    answer = aliased(Message)
    replied = (select(answer.id).where(answer.contact_id == BroadcastRecipient.contact_id,
                                       answer.direction != Message.OUTBOUND,
                                       answer.created_at >= Broadcast.started_at)
               .correlate(BroadcastRecipient, Broadcast).exists())
    rows = db.session.execute(
        select(BroadcastRecipient.broadcast_id, func.count(BroadcastRecipient.id), func.sum(reached),
               func.sum(delivered), func.sum(read), func.sum(failed), func.sum(case((replied, 1), else_=0)))
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .outerjoin(Message, Message.id == BroadcastRecipient.message_id)
        .where(BroadcastRecipient.broadcast_id.in_(ids)).group_by(BroadcastRecipient.broadcast_id))
    figures = {row[0]: [int(v or 0) for v in row[1:]] for row in rows}
    out = []
    for b in broadcasts:
        recipients, sent, got, seen, lost, answers = figures.get(b.id, [0] * 6)
        out.append({"id": b.id, "name": b.name, "started_at": b.started_at, "recipients": recipients, "sent": sent,
                    "delivered": got, "read": seen, "failed": lost, "replied": answers})
    return out


def human_duration(seconds: float) -> str:
    """"45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
