"""A broadcast's life: saved as a draft, maybe scheduled, started (audience snapshot), paused, resumed,
cancelled, failed recipients retried, and completed once every message is final.

Each state change is a guarded UPDATE on the broadcast's status, so two clicks (or a click and the
cron sweep) cannot start or finish a broadcast twice.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Text, delete, func, select, update

from core.enums import BroadcastStatus, RecipientState
from extensions import db, get_redis
from models import Broadcast, BroadcastRecipient, Message
from models.base import utcnow
from models.types import UTCDateTime
from services import events
from services.audit import record
from services.broadcasts import audience as audiences
from services.broadcasts.content import clean_content
from services.bulk_sql import among, update_each
from services.errors import Invalid
from services.outbox.recording import UNKNOWN_REASON
from services.queueing import BULK_QUEUE, enqueue_after_commit
from services.quotas import ensure_message_room
from services.workspace import workspace_zone

FEED_JOB = "jobs.broadcasts.feed_broadcast"
FEEDER_KEY = "messagehub:broadcast-feeder:{tenant_id}:{broadcast_id}"
# A running feeder renews its key every second or so; a key this old means Redis lost the feeder's job.
FEEDER_TTL = 30
EDITABLE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
UNKNOWN_RECIPIENT = "May have been delivered, not resent. " + UNKNOWN_REASON
# A message's final status -> its recipient's state; recipients are settled this many at a time.
FINAL = {"sent": RecipientState.SENT, "delivered": RecipientState.SENT, "read": RecipientState.SENT,
         "failed": RecipientState.FAILED, "unknown": RecipientState.UNKNOWN}
SETTLE_CHUNK = 1000


def local_to_utc(day: str, at: str, tz: ZoneInfo) -> datetime:
    """A date and time typed in the workspace's zone, as an aware UTC datetime (ValueError if unreadable)."""
    local = datetime.combine(date.fromisoformat(day.strip()), time.fromisoformat(at.strip()), tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC"))


def save_broadcast(data: dict[str, Any], broadcast: Broadcast | None = None) -> Broadcast:
    """Validate form data and create or update a draft (flushes; the caller commits).

    `data`: name, audience (kind, tag_ids, segment_id), content ("text" | "template"), body,
    template_id, variables ([{"source", "value"}] per template variable), when ("now" | "later"), day, at.
    """
    if broadcast is not None and broadcast.status not in EDITABLE:
        raise Invalid({"name": "This broadcast has started; it can no longer be edited."})
    errors: dict[str, str] = {}
    name = " ".join((data.get("name") or "").split())
    if not name:
        errors["name"] = "Enter a name for the broadcast."
    elif len(name) > Broadcast.NAME_MAX:
        errors["name"] = f"Keep the name under {Broadcast.NAME_MAX} characters."
    try:
        audience = audiences.clean_audience(data.get("audience") or {})
    except Invalid as exc:
        errors.update(exc.errors)
        audience = {"kind": "all"}
    body, template, variables = clean_content(data, errors)
    scheduled_at = None
    if data.get("when") == "later":
        try:
            scheduled_at = local_to_utc(data.get("day") or "", data.get("at") or "", workspace_zone())
        except ValueError:
            errors["day"] = "Enter a date and a time."
        else:
            if scheduled_at <= utcnow():
                errors["day"] = "Choose a moment in the future."
    if errors:
        raise Invalid(errors)
    broadcast = broadcast or Broadcast(status=BroadcastStatus.DRAFT)
    broadcast.name, broadcast.audience, broadcast.body = name, audience, body
    broadcast.template_name = template.name if template else None
    broadcast.template_language = template.language if template else None
    broadcast.template_variables = variables
    broadcast.scheduled_at, broadcast.status = scheduled_at, BroadcastStatus.DRAFT
    db.session.add(broadcast)
    db.session.flush()
    return broadcast


def move_status(broadcast: Broadcast, from_states, **values) -> bool:
    """Guarded status change: True when this call made it."""
    done = db.session.execute(
        update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status.in_(list(from_states)))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(broadcast)
    return bool(done)


def confirm(broadcast: Broadcast) -> str:
    """The confirm button: schedule it (a future moment was chosen) or start now; returns the new status."""
    if broadcast.scheduled_at is not None and broadcast.scheduled_at > utcnow():
        if not move_status(broadcast, [BroadcastStatus.DRAFT], status=BroadcastStatus.SCHEDULED):
            raise Invalid({"status": "This broadcast was already started or scheduled."})
        return BroadcastStatus.SCHEDULED
    start(broadcast)
    return BroadcastStatus.SENDING


def start(broadcast: Broadcast) -> None:
    """Snapshot the audience into recipient rows and start feeding the outbox (the caller commits)."""
    audience = db.session.scalar(select(func.count()).select_from(audiences.contact_ids(broadcast.audience).subquery()))
    ensure_message_room(audience)  # a broadcast larger than what is left of today's quota is refused up front
    if not move_status(broadcast, EDITABLE, status=BroadcastStatus.SENDING, started_at=utcnow(), error=None):
        raise Invalid({"status": "This broadcast was already started."})
    audiences.snapshot(broadcast)
    record("broadcast.started", target=broadcast, changes={"name": broadcast.name})
    start_feeder(broadcast)


def start_feeder(broadcast: Broadcast) -> None:
    """Hand the broadcast to a new feeder after the commit; a feeder already running for it stops."""
    token = uuid.uuid4().hex
    try:
        get_redis().set(feeder_key(broadcast.tenant_id, broadcast.id), token, ex=FEEDER_TTL)
    except Exception:
        pass  # Redis is away: the sweep starts a feeder once it is back
    enqueue_after_commit(FEED_JOB, broadcast.tenant_id, broadcast.id, token, queue_name=BULK_QUEUE)


def feeder_key(tenant_id: int, broadcast_id: int) -> str:
    return FEEDER_KEY.format(tenant_id=tenant_id, broadcast_id=broadcast_id)


def _recipients(broadcast: Broadcast, *criteria):
    return update(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id, *criteria) \
        .execution_options(synchronize_session=False)


def take_back(broadcast: Broadcast, state: str = RecipientState.QUEUED, reason: str | None = None) -> int:
    """Delete the broadcast's messages no send job has claimed yet, and move their recipients to `state`.

    The DELETE is guarded by status = 'queued': a message a send job claimed meanwhile is left to finish,
    so nothing already on its way is ever sent twice.
    """
    claimed = select(BroadcastRecipient.message_id).where(BroadcastRecipient.broadcast_id == broadcast.id,
                                                          BroadcastRecipient.state == RecipientState.SENDING)
    taken = list(db.session.scalars(
        delete(Message).where(Message.id.in_(claimed), Message.status == "queued").returning(Message.id)
        .execution_options(synchronize_session=False)))
    if taken:
        db.session.execute(_recipients(broadcast, BroadcastRecipient.message_id.in_(taken))
                           .values(state=state, message_id=None, claimed_at=None, reason=reason))
    return len(taken)


def pause(broadcast: Broadcast) -> int:
    """Stop feeding and take back messages still queued; returns how many were taken back."""
    if not move_status(broadcast, [BroadcastStatus.SENDING], status=BroadcastStatus.PAUSED):
        raise Invalid({"status": "Only a broadcast that is sending can be paused."})
    return take_back(broadcast)


def resume(broadcast: Broadcast) -> None:
    if not move_status(broadcast, [BroadcastStatus.PAUSED], status=BroadcastStatus.SENDING, error=None):
        raise Invalid({"status": "Only a paused broadcast can be resumed."})
    start_feeder(broadcast)


def cancel(broadcast: Broadcast) -> int:
    """Stop for good: recipients not sent yet are cancelled; returns how many."""
    if not move_status(broadcast, [*EDITABLE, BroadcastStatus.SENDING, BroadcastStatus.PAUSED],
                 status=BroadcastStatus.CANCELLED, finished_at=utcnow()):
        raise Invalid({"status": "This broadcast has finished already."})
    reason = "Cancelled before sending."
    record("broadcast.cancelled", target=broadcast, changes={"name": broadcast.name})
    count = take_back(broadcast, RecipientState.CANCELLED, reason)
    count += db.session.execute(_recipients(broadcast, BroadcastRecipient.state == RecipientState.QUEUED)
                                .values(state=RecipientState.CANCELLED, reason=reason)).rowcount
    announce_finished(broadcast)
    return count


def retry_failed(broadcast: Broadcast) -> int:
    """Queue the failed recipients again as new messages (never the unknown ones); returns how many."""
    if broadcast.status not in (BroadcastStatus.SENDING, BroadcastStatus.PAUSED, BroadcastStatus.COMPLETED):
        raise Invalid({"status": "Failed recipients can be retried once the broadcast has started."})
    count = db.session.execute(_recipients(broadcast, BroadcastRecipient.state == RecipientState.FAILED)
                               .values(state=RecipientState.QUEUED, message_id=None, reason=None,
                                       claimed_at=None)).rowcount
    if not count:
        raise Invalid({"status": "No recipient failed."})
    if move_status(broadcast, [BroadcastStatus.COMPLETED, BroadcastStatus.PAUSED], status=BroadcastStatus.SENDING,
             finished_at=None, error=None) or broadcast.status == BroadcastStatus.SENDING:
        start_feeder(broadcast)
    return count


def settle(broadcast_id: int) -> None:
    """Give recipients whose message is final that outcome: sent (delivered and read too), failed, unknown.

    Read in three plain steps (the recipients on their way, their messages by id, an UPDATE by id per
    outcome) rather than one UPDATE with correlated sub-selects, which the planner could turn into a
    scan of the workspace's messages per recipient.
    """
    recipient = BroadcastRecipient
    on_way = db.session.execute(select(recipient.id, recipient.message_id).where(
        recipient.broadcast_id == broadcast_id, recipient.state == RecipientState.SENDING,
        recipient.message_id.is_not(None))).all()
    for start in range(0, len(on_way), SETTLE_CHUNK):
        of_message = {message_id: recipient_id for recipient_id, message_id in on_way[start:start + SETTLE_CHUNK]}
        outcomes: dict[str, dict[int, Any]] = {}
        for message_id, status, sent_at, error in db.session.execute(
                select(Message.id, Message.status, Message.sent_at, Message.error_title)
                .where(among(Message.id, of_message, Integer), Message.status.in_(list(FINAL)))):
            state = FINAL[status]
            value = sent_at if state == RecipientState.SENT else error if state == RecipientState.FAILED \
                else UNKNOWN_RECIPIENT
            outcomes.setdefault(state, {})[of_message[message_id]] = value
        for state, values in outcomes.items():
            column, kind = ("sent_at", UTCDateTime()) if state == RecipientState.SENT else ("reason", Text())
            db.session.execute(update_each(recipient, column, values, kind,
                                           recipient.state == RecipientState.SENDING, state=state))


def on_the_way(broadcast_id: int) -> bool:
    """Whether a recipient's message is still on its way (handed to the outbox, outcome not settled)."""
    return db.session.scalar(select(BroadcastRecipient.id).where(
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.state == RecipientState.SENDING)
        .limit(1)) is not None


def unfinished(broadcast_id: int) -> int:
    """Recipients still queued or on their way."""
    return db.session.scalar(select(func.count(BroadcastRecipient.id)).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.state.in_([RecipientState.QUEUED, RecipientState.SENDING]))) or 0


def complete_if_done(broadcast: Broadcast) -> bool:
    """Mark a sending broadcast completed once no recipient is queued or on its way."""
    if broadcast.status != BroadcastStatus.SENDING or unfinished(broadcast.id):
        return False
    if not move_status(broadcast, [BroadcastStatus.SENDING], status=BroadcastStatus.COMPLETED, finished_at=utcnow()):
        return False
    announce_finished(broadcast)
    return True


def announce_finished(broadcast: Broadcast) -> None:
    """Record `broadcast.finished` with the recipients' final counts by state."""
    totals = dict(db.session.execute(select(BroadcastRecipient.state, func.count())
                                     .where(BroadcastRecipient.broadcast_id == broadcast.id)
                                     .group_by(BroadcastRecipient.state)).tuples().all())
    events.emit(events.BROADCAST_FINISHED, subject_id=broadcast.id,
                data={"status": str(broadcast.status), "name": broadcast.name,
                      "totals": {str(state): count for state, count in totals.items()}})
