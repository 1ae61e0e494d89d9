"""Turning provider events into contacts, messages, receipts, opt-outs and channel state.

Each item of a delivery is applied on its own savepoint: one bad item is recorded and skipped,
the rest are stored. Transient database errors are not swallowed here; they abort the whole
delivery so the job can retry it. Contacts a delivery touches are created and locked up front
in a stable order, so two deliveries naming the same customers cannot deadlock.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Channel, Contact, Message
from models.base import utcnow
from services import events as domain_events
from services.channels import set_state
from services.conversations import reopen_on_inbound
from services.drips.exits import on_opt_out as drip_opt_out
from services.drips.exits import on_reply as drip_reply
from services.optout import handle_inbound_text, handle_provider_opt_out
from services.phones import InvalidPhone, normalize_phone
from services.queueing import INBOUND_QUEUE, enqueue_after_commit
from services.transient import is_transient
from services.upsert import insert_ignoring_conflicts
from whatsapp.base import ConnectionEvent, Event, InboundMessage, OptOutEvent, StatusUpdate

log = logging.getLogger(__name__)
PROVIDER_ID_MAX = 128
PROFILE_NAME_MAX = 200
ERROR_CODE_MAX = 32
TYPE_MAX = 20


@dataclasses.dataclass
class ApplyReport:
    """What a delivery did: counts by kind of event, and the items skipped with their reason."""

    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped: list[dict] = dataclasses.field(default_factory=list)


def apply_events(channel: Channel, events: list[Event], received_at: datetime | None = None) -> ApplyReport:
    """Apply each event once, each on its own savepoint; transient errors propagate for a retry."""
    received_at = received_at or utcnow()
    report = ApplyReport()
    contacts = _lock_contacts(events)
    for index, event in enumerate(events):
        handler = _HANDLERS.get(type(event))
        if handler is None:
            continue
        try:
            with db.session.begin_nested():
                changed = handler(channel, event, contacts, received_at)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("webhook item %s skipped: %s", index, exc)
            report.skipped.append({"item": index, "kind": type(event).__name__,
                                   "error": f"{type(exc).__name__}: {exc}"[:500]})
            continue
        if changed:
            name = type(event).__name__
            report.counts[name] = report.counts.get(name, 0) + 1
    channel.last_activity_at = utcnow()
    return report


def fit_provider_id(value) -> str | None:
    """A provider message id that fits the column: longer ids become a stable digest, so dedupe still works."""
    if value is None:
        return None
    value = str(value)
    if len(value) <= PROVIDER_ID_MAX:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _text(value) -> str | None:
    """Message text as a string, whatever shape the provider sent."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _phone_for(wa_id) -> str | None:
    try:
        return normalize_phone("+" + str(wa_id).lstrip("+"), strict=False)
    except InvalidPhone:
        return None


def _lock_contacts(events: list[Event]) -> dict[str, Contact]:
    """Create missing contacts and lock every contact the delivery names, in phone order.

    A stable order is what keeps concurrent deliveries from waiting on each other in a cycle.
    """
    wanted: dict[str, str | None] = {}
    for event in events:
        wa_id = getattr(event, "wa_id", None)
        phone = _phone_for(wa_id) if wa_id else None
        if phone and (phone not in wanted or not wanted[phone]):
            wanted[phone] = _profile_name(getattr(event, "profile_name", None))
    if not wanted:
        return {}
    phones = sorted(wanted)
    created = insert_ignoring_conflicts(
        Contact, [{"phone": phone, "name": (wanted[phone] or phone)[: Contact.NAME_MAX],
                   "profile_name": wanted[phone]} for phone in phones],
        conflict_columns=["tenant_id", "phone"], returning=Contact.__table__.c.id)
    domain_events.emit_many(domain_events.CONTACT_CREATED, [{"contact_id": contact_id, "data": {"source": "inbound"}}
                                              for contact_id in sorted(created)])
    rows = db.session.scalars(select(Contact).where(Contact.phone.in_(phones))
                              .order_by(Contact.phone).with_for_update()).all()
    return {contact.phone: contact for contact in rows}


def _profile_name(value) -> str | None:
    if value is None:
        return None
    return str(value)[:PROFILE_NAME_MAX] or None


def _contact_for(contacts: dict[str, Contact], wa_id, profile_name=None) -> Contact | None:
    phone = _phone_for(wa_id)
    if phone is None:
        log.warning("inbound event from an unusable WhatsApp id ignored")
        return None
    contact = contacts.get(phone)
    if contact is None:  # not in the delivery's up-front list (a handler asked for another number)
        contact = db.session.scalar(select(Contact).where(Contact.phone == phone))
    profile_name = _profile_name(profile_name)
    if contact is not None and profile_name and contact.profile_name != profile_name:
        contact.profile_name = profile_name
    return contact


def _inbound(channel: Channel, event: InboundMessage, contacts, received_at: datetime) -> bool:
    provider_id = fit_provider_id(event.provider_message_id)
    if db.session.scalar(select(Message.id).where(Message.provider_message_id == provider_id)) is not None:
        return False  # duplicate delivery
    contact = _contact_for(contacts, event.wa_id, event.profile_name)
    if contact is None:
        return False
    # A signed message may claim any time; a future one must not hold the 24-hour window open.
    at = min(event.timestamp or received_at, received_at)
    media = dataclasses.asdict(event.media) if event.media else None
    message = Message(contact_id=contact.id, direction=Message.INBOUND, type=str(event.type)[:TYPE_MAX],
                      body=_text(event.text), media=_jsonable(media), payload=_jsonable(event.payload) or None,
                      status="received", context_message_id=fit_provider_id(event.context_message_id),
                      provider_message_id=provider_id, received_at=at)
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        return False  # a concurrent delivery of the same message stored it first
    if contact.last_inbound_at is None or contact.last_inbound_at < at:
        contact.last_inbound_at = at
    if contact.last_message_at is None or contact.last_message_at < at:
        contact.last_message_at = at
    reopen_on_inbound(contact)
    domain_events.emit(domain_events.MESSAGE_RECEIVED, contact_id=contact.id, subject_id=message.id,
                data={"text": message.body, "type": message.type})
    if message.media:
        enqueue_after_commit("jobs.media.fetch_inbound_media", message.tenant_id, message.id, queue_name=INBOUND_QUEUE)
    if message.type in ("text", "button", "interactive") and message.body:
        handle_inbound_text(contact, message.body)
    _leave_drips(contact, received_at)
    return True


def _leave_drips(contact: Contact, at: datetime) -> None:
    """Drip exits: an opt-out stops every sequence (checked first, so a STOP says "opted out"), a reply
    stops those that exit on reply. Opt-outs happen only here, on inbound events."""
    if contact.opted_out:
        drip_opt_out(contact, at)
    drip_reply(contact, at)


def _status(channel: Channel, event: StatusUpdate, contacts, received_at: datetime) -> bool:
    provider_id = fit_provider_id(event.provider_message_id)
    message = db.session.scalar(select(Message).where(Message.provider_message_id == provider_id))
    if message is None:
        log.info("receipt for an unknown message ignored")
        return False
    at = min(event.timestamp or received_at, received_at)
    code = None if event.error_code is None else str(event.error_code)[:ERROR_CODE_MAX]
    changed = message.apply_status(str(event.status), at, error_code=code, error_title=_text(event.error_title))
    if changed:
        domain_events.emit(domain_events.MESSAGE_STATUS, contact_id=message.contact_id, subject_id=message.id,
                    data={"status": message.status, "error": message.error_title})
    if event.status == "failed" and code == "131050" and handle_provider_opt_out(message.contact):
        drip_opt_out(message.contact, received_at)
    return changed


def _opt_out(channel: Channel, event: OptOutEvent, contacts, received_at: datetime) -> bool:
    contact = _contact_for(contacts, event.wa_id)
    if contact is None or not handle_provider_opt_out(contact):
        return False
    drip_opt_out(contact, received_at)
    return True


def _connection(channel: Channel, event: ConnectionEvent, contacts, received_at: datetime) -> bool:
    set_state(channel, event.state, phone_number=event.phone_number, profile_name=event.profile_name, qr=event.qr)
    return True


def _jsonable(value):
    return json.loads(json.dumps(value, default=str)) if value else value


_HANDLERS = {InboundMessage: _inbound, StatusUpdate: _status, OptOutEvent: _opt_out, ConnectionEvent: _connection}
