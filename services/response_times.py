"""Response rate and median first response, rolled up per workspace per day and read back for any range.

The rollup (services/admin/rollup) asks `daily_figures` for the customer turns that began on its recent days:
how many, how many a person answered, and the answers counted into wait buckets (models.tenant_stats.
WAIT_EDGES). A page sums those columns over its range, in a workspace's scope or over the whole platform, and
reads the median from the summed buckets: a pass over a few rows per day instead of over every message.

The median is interpolated inside the bucket that holds it, so it is off by less than that bucket's width
(neighbouring edges differ by at most 2x); the counts and the rate are exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select

from extensions import db
from models import Message, PlatformDay, UsageDay
from models.tenant_stats import WAIT_COLUMNS, WAIT_EDGES
from services.analytics import STATUSES, Range, Series, as_date, human_duration, utc_day

# A reply by a person (not an automatic confirmation or a broadcast) answers a customer.
REPLY_ORIGINS = ("inbox",)
# How far back a turn's start is looked for: a customer message right after midnight continues the turn its
# previous message began the day before, rather than starting one of its own.
LOOKBACK = timedelta(days=1)


@dataclass
class DayFigures:
    """One workspace's turns that began on one day: how many, how many answered, answers per wait bucket."""

    turns: int = 0
    answered: int = 0
    waits: list[int] | None = None

    def columns(self) -> dict:
        """The usage_days columns these figures fill."""
        waits = self.waits or [0] * len(WAIT_COLUMNS)
        return {"turns": self.turns, "answered": self.answered, **dict(zip(WAIT_COLUMNS, waits, strict=True))}


def _delay_seconds(answered_at, began):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", answered_at - began)
    # julianday is a float of days: 120 s comes back as 119.99999..., so round to the millisecond.
    return func.round((func.julianday(answered_at) - func.julianday(began)) * 86400.0, 3)


def _bucket(delay):
    """The wait bucket's number for a delay in seconds (NULL when unanswered)."""
    return case(*[(delay < edge, n) for n, edge in enumerate(WAIT_EDGES)], else_=len(WAIT_EDGES))


def _turns(since: datetime, until: datetime):
    """One row per customer turn among messages in [since, until): tenant, contact, began, answered_at or NULL.

    A turn begins at an inbound message when the contact's previous counted message was not inbound; a person's
    reply (not failed, not automatic) ends it. Other outbound messages change nothing, so they are left out.
    """
    inbound = case((Message.direction != Message.OUTBOUND, 1), else_=0)
    moves = (select(Message.tenant_id, Message.contact_id, Message.created_at, Message.id, inbound.label("inbound"),
                    func.lag(inbound, 1, 0).over(partition_by=Message.contact_id,
                                                 order_by=(Message.created_at, Message.id)).label("before"))
             .where(Message.created_at >= since, Message.created_at < until,
                    or_(Message.direction != Message.OUTBOUND,
                        and_(Message.origin.in_(REPLY_ORIGINS), Message.status != "failed")))
             .subquery())
    begins = case((and_(moves.c.inbound == 1, moves.c.before == 0), 1), else_=0)
    answer = case((and_(moves.c.inbound == 0, moves.c.before == 1), moves.c.created_at))
    steps = select(moves.c.tenant_id, moves.c.contact_id, moves.c.created_at, answer.label("answered_at"),
                   func.sum(begins).over(partition_by=moves.c.contact_id,
                                         order_by=(moves.c.created_at, moves.c.id)).label("turn")).subquery()
    return (select(steps.c.tenant_id, func.min(steps.c.created_at).label("began"),
                   func.min(steps.c.answered_at).label("answered_at"))
            .where(steps.c.turn > 0).group_by(steps.c.tenant_id, steps.c.contact_id, steps.c.turn).subquery())


def daily_figures(first_day: date, now: datetime) -> dict[tuple[int, date], DayFigures]:
    """{(tenant id, day): figures} for turns that began from `first_day` to now, answers seen up to now.

    Run unscoped by the rollup for every workspace at once; one grouped statement.
    """
    start = datetime.combine(first_day, datetime.min.time(), now.tzinfo)
    turns = _turns(start - LOOKBACK, now + timedelta(seconds=1))
    bucket = _bucket(_delay_seconds(turns.c.answered_at, turns.c.began))
    day = utc_day(turns.c.began)
    wait = case((turns.c.answered_at.is_not(None), bucket)).label("wait")
    rows = db.session.execute(
        select(turns.c.tenant_id, day.label("day"), wait, func.count())
        .where(turns.c.began >= start).group_by(turns.c.tenant_id, "day", "wait"))
    out: dict[tuple[int, date], DayFigures] = {}
    for tenant_id, raw_day, wait, number in rows:
        figures = out.setdefault((tenant_id, as_date(raw_day)), DayFigures(waits=[0] * len(WAIT_COLUMNS)))
        figures.turns += number
        if wait is not None:
            figures.answered += number
            figures.waits[int(wait)] += number
    return out


def median_from_waits(waits: list[int]) -> float | None:
    """The median answer time read from bucket counts: linear inside the bucket holding the middle answer."""
    total = sum(waits)
    if not total:
        return None
    middle, seen = total / 2, 0
    for n, count in enumerate(waits):
        if count and seen + count >= middle:
            low = WAIT_EDGES[n - 1] if n else 0
            if n == len(WAIT_EDGES):  # open-ended: say "at least" its lower edge
                return float(low)
            return low + (middle - seen) / count * (WAIT_EDGES[n] - low)
        seen += count
    return None


def _sums(*columns) -> list:
    return [func.coalesce(func.sum(column), 0) for column in columns]


def summed(since: date, until: date) -> tuple[int, int, list[int]]:
    """Turns, answered and wait buckets summed over [since, until] in the current scope (or the platform)."""
    row = db.session.execute(select(*_sums(UsageDay.turns, UsageDay.answered, *_wait_columns()))
                             .where(UsageDay.day >= since, UsageDay.day <= until)).one()
    values = [int(v) for v in row]
    return values[0], values[1], values[2:]


def _wait_columns():
    return [getattr(UsageDay, name) for name in WAIT_COLUMNS]


def rolled_up(span: Range) -> tuple[Series, dict]:
    """The platform's messages per day by status and direction, and its response figures, read from
    platform_days (a row per day, every workspace summed by the rollup), as of the last rollup."""
    counts = ("received", "sent", "failed", "queued", "delivered", "read")
    rows = db.session.execute(
        select(PlatformDay.day, *(getattr(PlatformDay, name) for name in (*counts, "turns", "answered")),
               *(getattr(PlatformDay, name) for name in WAIT_COLUMNS))
        .where(PlatformDay.day >= span.since, PlatformDay.day <= span.until))
    labels = [d.isoformat() for d in span.days]
    index = {d: n for n, d in enumerate(labels)}
    series = {"received": [0] * len(labels), **{status: [0] * len(labels) for status in STATUSES}}
    total = answered = 0
    waits = [0] * len(WAIT_COLUMNS)
    for raw_day, *numbers in rows:
        received, sent, failed, queued, delivered, read, turns, done, *buckets = (int(n) for n in numbers)
        total, answered = total + turns, answered + done
        waits = [a + b for a, b in zip(waits, buckets, strict=True)]
        position = index.get(as_date(raw_day).isoformat())
        if position is None:
            continue
        # `sent` counts every outbound message; the "sent" line is those not yet further along (or failed).
        for key, number in (("received", received), ("queued", queued), ("delivered", delivered), ("read", read),
                            ("failed", failed), ("sent", sent - queued - delivered - read - failed)):
            series[key][position] += number
    return Series(labels, series), _figures(total, answered, waits)


def responsiveness(span: Range) -> dict:
    """Customer turns begun in the range, how many a person answered (a failed or automatic reply answers
    nobody), and the median time to that first answer (seconds), as of the last rollup.

    In a workspace's scope its own days are summed; unscoped (admin code), every workspace's.
    """
    return _figures(*summed(span.since, span.until))


def _figures(total: int, answered: int, waits: list[int]) -> dict:
    median = median_from_waits(waits)
    return {"turns": total, "answered": answered, "rate": round(100 * answered / total) if total else None,
            "median_seconds": median, "median_text": human_duration(median) if median is not None else None}
