"""A conversation's state: open while it needs someone, resolved once dealt with, open again when the customer writes.

The state lives on the contact (one conversation per contact). Changing it touches the contact, so the
inbox version is bumped on commit like any other contact change and open inboxes refresh their list.
"""
from __future__ import annotations

from core.enums import ConversationStatus
from extensions import db
from models import Contact
from models.base import utcnow
from services.errors import Invalid


def is_resolved(contact: Contact) -> bool:
    """True when the conversation with `contact` has been marked resolved."""
    return contact.conversation_status == ConversationStatus.RESOLVED


def resolve_conversation(contact: Contact) -> None:
    """Mark the conversation resolved (flushes; the caller commits); refuses one already resolved."""
    if is_resolved(contact):
        raise Invalid("This conversation is already resolved.")
    contact.conversation_status = ConversationStatus.RESOLVED
    contact.resolved_at = utcnow()
    db.session.flush()


def reopen_conversation(contact: Contact) -> None:
    """Mark the conversation open again (flushes; the caller commits); refuses one already open."""
    if not is_resolved(contact):
        raise Invalid("This conversation is already open.")
    _open(contact)
    db.session.flush()


def reopen_on_inbound(contact: Contact) -> bool:
    """A customer writing again needs an answer: a resolved conversation opens (no flush; inbound flushes)."""
    if not is_resolved(contact):
        return False
    _open(contact)
    return True


def _open(contact: Contact) -> None:
    contact.conversation_status = ConversationStatus.OPEN
    contact.resolved_at = None
