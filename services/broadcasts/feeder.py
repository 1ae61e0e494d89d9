"""Feeding a sending broadcast into the outbox, a couple of seconds of the channel's pace at a time.

Each run claims the next queued recipients with a guarded UPDATE (`FOR UPDATE SKIP LOCKED` on
PostgreSQL), checks the rules of that moment (opted out now, the 24-hour window), inserts their
messages in one statement and records each recipient's message, all in one transaction. The outbox's
send jobs deliver them at the channel's pace with its at-most-once guarantees. The job running this
enqueues itself again about a second later while anything is left; it never sleeps.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Integer, func, select, update

from core.enums import BroadcastStatus, MessageOrigin, RecipientState
from extensions import db, get_redis
from models import Broadcast, BroadcastRecipient, Contact, Message
from models.base import utcnow
from services.broadcasts.content import find_template, render_for
from services.broadcasts.lifecycle import (
    FEEDER_TTL,
    complete_if_done,
    feeder_key,
    move_status,
    on_the_way,
    settle,
    unfinished,
)
from services.bulk_sql import among, update_each
from services.channels import capabilities_for, get_channel
from services.outbox import window_open
from services.outbox.enqueue import insert_queued
from services.phones import InvalidPhone, normalize_phone
from services.ratelimit import rate_for

# The outbox is kept this many seconds of the channel's pace ahead (at most BATCH_CAP recipients a round): rounds
# come every half second or so, and the batch sender must never find the queue dry between two of them.
AHEAD_SECONDS = 3
BATCH_CAP = 3000
OPTED_OUT = "Opted out of messages."
WINDOW_CLOSED = ("Outside the 24-hour customer-service window: WhatsApp only allows an approved template, "
                 "and this broadcast sends text.")
NO_NUMBER = "No valid WhatsApp number."


def owns_feeding(tenant_id: int, broadcast_id: int, token: str | None) -> bool:
    """Whether the feeder holding `token` is the broadcast's current one (it renews its claim)."""
    # One step in Redis: read apart from the write, an old feeder could renew its claim just after a resume
    # handed the key to a new one, and the new feeder then found itself superseded.
    return bool(get_redis().eval(_RENEW_IF_OURS, 1, feeder_key(tenant_id, broadcast_id), token or "", FEEDER_TTL))


# Renew the feeder key for ARGV[1] unless another feeder holds it (a feeder without a token always may).
_RENEW_IF_OURS = """
local current = redis.call('GET', KEYS[1])
if current and ARGV[1] ~= '' and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def feed(broadcast_id: int) -> str:
    """One feeding round; returns "more" when the broadcast needs another round, else its status."""
    # Locked for the round: a pause or cancel waits for it, then takes back what this round queued.
    broadcast = db.session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update())
    if broadcast is None:
        return "gone"
    settle(broadcast.id)
    if broadcast.status != BroadcastStatus.SENDING:
        db.session.commit()
        if broadcast.status == BroadcastStatus.PAUSED and on_the_way(broadcast.id):
            # Sends claimed before the pause still finish: keep settling them, so the paused counts stand still.
            return "more"
        return broadcast.status
    channel = get_channel()
    refusal = _refusal(channel, broadcast)
    if refusal is not None:
        move_status(broadcast, [BroadcastStatus.SENDING], status=BroadcastStatus.PAUSED, error=refusal)
        db.session.commit()
        return BroadcastStatus.PAUSED
    room = _room(broadcast.id, channel)
    if room > 0:
        _hand_over(broadcast, channel, _claim(broadcast.id, room))
    db.session.commit()
    if complete_if_done(broadcast):
        db.session.commit()
        return BroadcastStatus.COMPLETED
    db.session.commit()
    return "more" if unfinished(broadcast.id) else broadcast.status


def _refusal(channel, broadcast: Broadcast) -> str | None:
    """Why nothing of `broadcast` can be sent on `channel` now (the broadcast pauses with it), or None."""
    if channel is None:
        return "Link a WhatsApp number in Settings › WhatsApp before sending."
    if broadcast.template_name and not capabilities_for(channel.kind).templates:
        return "Templates are a Cloud API feature; the linked WhatsApp sends plain messages."
    if channel.paused_at is not None:
        return f"Sending is paused: {channel.paused_reason}."
    if not channel.is_connected:
        return "WhatsApp is not connected."
    return None


def _room(broadcast_id: int, channel) -> int:
    """How many more recipients to hand over: ~2 s of sends, less the broadcast messages still queued.

    Counted over the workspace's queued broadcast messages (one channel, one pace), not joined to this
    broadcast's recipients: that join went row by row once the broadcast had thousands on their way.
    """
    rate = rate_for(capabilities_for(channel.kind), channel.rate_per_second)[0]
    ahead = min(BATCH_CAP, max(1, int(rate * AHEAD_SECONDS)))
    waiting = db.session.scalar(select(func.count(Message.id)).where(
        Message.status == "queued", Message.origin == MessageOrigin.BROADCAST)) or 0
    return ahead - waiting


def _claim(broadcast_id: int, limit: int) -> list[tuple[int, int]]:
    """Move the next `limit` queued recipients to sending; returns (recipient id, contact id) of those won."""
    recipient = BroadcastRecipient
    # Picked first, then moved by id (not UPDATE ... IN (locking sub-select), which may rerun per row).
    picked = db.session.scalars(
        select(recipient.id).where(recipient.broadcast_id == broadcast_id, recipient.state == RecipientState.QUEUED)
        .order_by(recipient.id).limit(limit).with_for_update(skip_locked=True)).all()
    if not picked:
        return []
    rows = db.session.execute(
        update(recipient).where(among(recipient.id, picked, Integer), recipient.state == RecipientState.QUEUED)
        .values(state=RecipientState.SENDING, claimed_at=utcnow())
        .returning(recipient.id, recipient.contact_id).execution_options(synchronize_session=False)).all()
    return sorted((rid, cid) for rid, cid in rows)


def _hand_over(broadcast: Broadcast, channel, claimed: list[tuple[int, int]]) -> None:
    """Queue the claimed recipients' messages in one INSERT; skip (with the reason) those the rules refuse now."""
    if not claimed:
        return
    # Plain rows, not ORM objects: a round reads thousands, and only these columns are rendered and checked.
    contacts = {c.id: c for c in db.session.execute(
        select(Contact.id, Contact.name, Contact.phone, Contact.custom_fields, Contact.opted_out,
               Contact.last_inbound_at).where(among(Contact.id, [c for _r, c in claimed], Integer)))}
    template = find_template(broadcast) if broadcast.template_name else None
    text_only_in_window = not broadcast.template_name
    rows, sending, skipped = [], [], defaultdict(list)
    for recipient_id, contact_id in claimed:
        contact = contacts.get(contact_id)
        reason = _why_not(contact, channel, text_only_in_window)
        rendered = render_for(broadcast, contact, template) if reason is None else None
        if rendered is not None and rendered.refusal:
            reason = rendered.refusal
        if reason is not None:
            skipped[reason].append(recipient_id)
            continue
        rows.append({"contact_id": contact_id, "type": rendered.type, "body": rendered.body,
                     "payload": rendered.payload})
        sending.append(recipient_id)
    message_ids = insert_queued(channel, rows, origin=MessageOrigin.BROADCAST)
    recipient = BroadcastRecipient
    if sending:
        _link_messages(sending, message_ids)
    for reason, ids in skipped.items():
        db.session.execute(update(recipient).where(among(recipient.id, ids, Integer))
                           .values(state=RecipientState.SKIPPED, reason=reason)
                           .execution_options(synchronize_session=False))


def _link_messages(recipient_ids: list[int], message_ids: list[int]) -> None:
    """Record each recipient's new message in one UPDATE."""
    db.session.execute(update_each(BroadcastRecipient, "message_id", dict(zip(recipient_ids, message_ids, strict=True)),
                                   Integer))


def _why_not(contact: Contact | None, channel, text_only_in_window: bool) -> str | None:
    """Why `contact` cannot get the broadcast now (the rules of the moment), or None."""
    if contact is None or contact.opted_out:
        return OPTED_OUT
    try:
        normalize_phone(contact.phone, strict=False)
    except InvalidPhone:
        return NO_NUMBER
    if text_only_in_window and not window_open(contact, channel):
        return WINDOW_CLOSED
    return None
