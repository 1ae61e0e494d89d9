"""Inbox read queries: conversations, unread counts, threads and cheap change tokens."""
from __future__ import annotations

import hashlib
import re
import time

from sqlalchemy import Select, exists, func, or_, select

from extensions import db
from models import Contact, Message, MessageTemplate
from models.tenancy import current_tenant_id
from services import inbox_version

THREAD_SIZE = 100
THREAD_MAX = 1000


def _latest_message_at():
    """Correlated subquery: when the contact's newest message was created."""
    return (select(func.max(Message.created_at)).where(Message.contact_id == Contact.id)
            .correlate(Contact).scalar_subquery())


def unread_counts(contact_ids: list[int]) -> dict[int, int]:
    """Inbound messages the tenant has not seen yet, per contact in `contact_ids`."""
    if not contact_ids:
        return {}
    stmt = (select(Message.contact_id, func.count(Message.id)).join(Contact, Contact.id == Message.contact_id)
            .where(Message.contact_id.in_(contact_ids), Message.direction == Message.INBOUND,
                   or_(Contact.last_read_at.is_(None), Message.created_at > Contact.last_read_at))
            .group_by(Message.contact_id))
    return dict(db.session.execute(stmt).tuples().all())


def conversations(query: str = "") -> Select:
    """Contacts with at least one message, newest conversation first, matching `query` (name or phone)."""
    stmt = (select(Contact)
            .where(exists().where(Message.contact_id == Contact.id))
            .order_by(func.coalesce(Contact.last_message_at, _latest_message_at()).desc(), Contact.id.desc()))
    text_query = (query or "").strip()
    if text_query:
        digits = re.sub(r"\D", "", text_query)
        conditions = [func.lower(Contact.name).like(f"%{text_query.lower()}%")]
        if digits:
            conditions.append(Contact.phone.like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
    return stmt


def last_messages(contact_ids: list[int]) -> dict[int, Message]:
    """The newest message of each contact in `contact_ids`."""
    if not contact_ids:
        return {}
    newest = (select(func.max(Message.id)).where(Message.contact_id.in_(contact_ids))
              .group_by(Message.contact_id))
    rows = db.session.scalars(select(Message).where(Message.id.in_(newest)))
    return {message.contact_id: message for message in rows}


def _digest(*parts) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def list_version() -> str:
    """Changes whenever a message or a conversation changes, and once a minute for the clock.

    Read from the tenant's inbox version in Redis; only while Redis is away does it scan the database.
    """
    # The minute is part of the token so "5 min ago" labels do not go stale on a quiet inbox.
    minute = int(time.time() // 60)
    version = inbox_version.current(current_tenant_id())
    if version is not None:
        return _digest(version, minute)
    count, newest = db.session.execute(select(func.count(Message.id), func.max(Message.updated_at))).one()
    contacts = db.session.scalar(select(func.max(Contact.updated_at)))
    return _digest(count, newest, contacts, minute)


def thread_version(contact: Contact) -> str:
    """Changes when a message of `contact` is added, removed or changes state."""
    count, newest, top = db.session.execute(
        select(func.count(Message.id), func.max(Message.updated_at), func.max(Message.id))
        .where(Message.contact_id == contact.id)).one()
    return _digest(count, newest, top)


def thread(contact: Contact, size: int = THREAD_SIZE) -> tuple[list[Message], bool]:
    """The newest `size` messages of `contact`, oldest first, and whether older ones exist."""
    size = max(1, min(size, THREAD_MAX))
    rows = db.session.scalars(select(Message).where(Message.contact_id == contact.id)
                              .order_by(Message.created_at.desc(), Message.id.desc()).limit(size + 1)).all()
    return list(reversed(rows[:size])), len(rows) > size


def approved_templates() -> list[MessageTemplate]:
    """Templates that can be sent, by name."""
    rows = db.session.scalars(select(MessageTemplate).order_by(MessageTemplate.name, MessageTemplate.language))
    return [t for t in rows if t.is_approved]


def template_count() -> int:
    """All synced templates, approved or not (tells "none synced" from "none approved")."""
    return db.session.scalar(select(func.count(MessageTemplate.id))) or 0
