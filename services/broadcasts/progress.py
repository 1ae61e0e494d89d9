"""How far a broadcast is: counters from one grouped query, the rate of the last seconds, time left."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, func, select

from core.enums import BroadcastStatus, RecipientState
from extensions import db
from models import Broadcast, BroadcastRecipient, Message
from models.base import utcnow

RATE_SPAN = timedelta(seconds=10)
FINAL = (BroadcastStatus.COMPLETED, BroadcastStatus.CANCELLED)
COUNTERS = ("queued", "sending", "sent", "delivered", "read", "failed", "unknown", "skipped", "cancelled")
_JOIN = and_(Message.id == BroadcastRecipient.message_id, Message.tenant_id == BroadcastRecipient.tenant_id)


@dataclass
class Progress:
    """What the progress page shows."""

    counts: dict[str, int]
    total: int
    skipped_reasons: list[tuple[str, int]] = field(default_factory=list)
    rate: float = 0.0          # messages sent per second over the last ten seconds
    seconds_left: int | None = None

    @property
    def done(self) -> int:
        """Recipients with a final outcome."""
        return self.total - self.counts["queued"] - self.counts["sending"]

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.done * 100 / self.total)

    def version(self, status: str) -> str:
        """A token that changes whenever anything shown changes (the poll answers 204 while it is the same)."""
        raw = repr((status, sorted(self.counts.items()), self.skipped_reasons, round(self.rate, 1), self.seconds_left))
        return hashlib.sha1(raw.encode()).hexdigest()[:16]


def _bucket(state: str, status: str | None) -> str:
    """The counter a recipient falls in: its own state, or its message's delivery state once sent."""
    if state == RecipientState.SENDING and status in ("sent", "delivered", "read", "failed", "unknown"):
        return "sent" if status != "failed" and status != "unknown" else status
    if state == RecipientState.SENT and status in ("delivered", "read"):
        return status
    return state


def progress(broadcast: Broadcast) -> Progress:
    """Counters by state (delivered and read from the messages), skip reasons, rate now and time left."""
    counts = dict.fromkeys(COUNTERS, 0)
    rows = db.session.execute(
        select(BroadcastRecipient.state, Message.status, func.count(BroadcastRecipient.id))
        .outerjoin(Message, _JOIN).where(BroadcastRecipient.broadcast_id == broadcast.id)
        .group_by(BroadcastRecipient.state, Message.status))
    for state, status, number in rows:
        key = _bucket(state, status)
        counts[key] = counts.get(key, 0) + number
    total = sum(counts.values())
    reasons = [(reason or "Skipped", int(number)) for reason, number in db.session.execute(
        select(BroadcastRecipient.reason, func.count(BroadcastRecipient.id))
        .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.state == RecipientState.SKIPPED)
        .group_by(BroadcastRecipient.reason).order_by(func.count(BroadcastRecipient.id).desc()))]
    result = Progress(counts, total, reasons)
    if broadcast.status == BroadcastStatus.SENDING:
        recent = db.session.scalar(
            select(func.count(BroadcastRecipient.id)).join(Message, _JOIN)
            .where(BroadcastRecipient.broadcast_id == broadcast.id, Message.sent_at >= utcnow() - RATE_SPAN)) or 0
        result.rate = recent / RATE_SPAN.total_seconds()
        left = counts["queued"] + counts["sending"]
        result.seconds_left = int(left / result.rate) + 1 if result.rate and left else None
    return result


def totals(broadcast_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per broadcast: recipients, sent (delivered and read included), failed; for the list, in one query."""
    if not broadcast_ids:
        return {}
    out: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(BroadcastRecipient.broadcast_id, BroadcastRecipient.state, func.count(BroadcastRecipient.id))
        .where(BroadcastRecipient.broadcast_id.in_(broadcast_ids))
        .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.state))
    for broadcast_id, state, number in rows:
        entry = out.setdefault(broadcast_id, {"total": 0, "sent": 0, "failed": 0})
        entry["total"] += number
        if state in ("sent", "failed"):
            entry[state] += number
    return out


def names_of_messages(message_ids: list[int]) -> dict[int, str]:
    """Message id -> name of the broadcast it was sent by, for the messages in view (one query)."""
    if not message_ids:
        return {}
    rows = db.session.execute(
        select(BroadcastRecipient.message_id, Broadcast.name)
        .join(Broadcast, and_(Broadcast.id == BroadcastRecipient.broadcast_id,
                              Broadcast.tenant_id == BroadcastRecipient.tenant_id))
        .where(BroadcastRecipient.message_id.in_(message_ids)))
    return dict(rows.all())
