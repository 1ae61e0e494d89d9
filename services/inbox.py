"""Inbox read queries: conversations, unread counts, threads and cheap change tokens."""
from __future__ import annotations

import hashlib
import re
import time

from sqlalchemy import Select, func, or_, select

from core.enums import ConversationStatus
from extensions import db
from models import Contact, Message, MessageTemplate
from models.tenancy import current_tenant_id
from services import inbox_version
from services.text_search import ESCAPE, contains_pattern

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


# The inbox list's filters, in the order the tabs show them.
FILTERS = ("all", "open", "resolved", "unread")
PICK_SIZE = 10
_PHONE_LIKE = re.compile(r"[\d\s()+.-]+")


def _unread():
    """Criterion: the contact has an inbound message newer than its read mark."""
    return select(Message.id).where(
        Message.contact_id == Contact.id, Message.direction == Message.INBOUND,
        or_(Contact.last_read_at.is_(None), Message.created_at > Contact.last_read_at)).exists()


def _matches(text_query: str, *, message_text: bool, email: bool = False):
    """Criterion: name (or email) contains the text, the phone contains its digits, or (optionally) a message does.

    What was typed is matched literally (`%` and `_` are characters); on PostgreSQL the message text
    test uses the trigram index ix_messages_body_trgm.
    """
    pattern = contains_pattern(text_query)
    conditions = [Contact.name.ilike(pattern, escape=ESCAPE)]
    if email:
        conditions.append(Contact.email.ilike(pattern, escape=ESCAPE))
    digits = re.sub(r"\D", "", text_query)
    # Only what looks like a phone number searches phones, so "order A_1" does not match every number with a 1.
    if digits and _PHONE_LIKE.fullmatch(text_query):
        conditions.append(Contact.phone.like(contains_pattern(digits), escape=ESCAPE))
    if message_text:
        # Uncorrelated on purpose: PostgreSQL runs it once through the trigram index, where a correlated EXISTS
        # inside this OR would be re-run per contact over all of that contact's messages.
        conditions.append(Contact.id.in_(select(Message.contact_id).where(Message.body.ilike(pattern, escape=ESCAPE))))
    return or_(*conditions)


def conversations(query: str = "", state: str = "all") -> Select:
    """Contacts with messages, newest first, in `state` (one of FILTERS), matching `query` (name, phone, text)."""
    stmt = (select(Contact)
            .where(select(Message.id).where(Message.contact_id == Contact.id).exists())
            .order_by(func.coalesce(Contact.last_message_at, _latest_message_at()).desc(), Contact.id.desc()))
    if state in (ConversationStatus.OPEN, ConversationStatus.RESOLVED):
        stmt = stmt.where(Contact.conversation_status == state)
    elif state == "unread":
        stmt = stmt.where(_unread())
    text_query = (query or "").strip()
    if text_query:
        stmt = stmt.where(_matches(text_query, message_text=True))
    return stmt


def pick_contacts(query: str = "", limit: int = PICK_SIZE) -> tuple[list[Contact], int]:
    """Contacts to start a conversation with, by name, matching `query` (name, phone or email), and how many match."""
    text_query = (query or "").strip()
    criteria = [_matches(text_query, message_text=False, email=True)] if text_query else []
    total = db.session.scalar(select(func.count(Contact.id)).where(*criteria)) or 0
    rows = db.session.scalars(select(Contact).where(*criteria)
                              .order_by(func.lower(Contact.name), Contact.id).limit(limit)).all()
    return list(rows), total


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
