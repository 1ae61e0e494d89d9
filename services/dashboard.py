"""What the home page reads: the getting-started steps and a few counts of the current tenant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.enums import ConversationStatus, Direction, MessageStatus
from extensions import db
from models import Contact, Message
from models.base import utcnow
from services.channels import get_channel

RECENT_DAYS = 7
# Outbound messages the provider accepted; queued, failed and unknown ones were not (yet) sent.
SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


@dataclass(frozen=True)
class Overview:
    """The home page's figures; the three booleans are the getting-started steps."""

    whatsapp_linked: bool
    has_contacts: bool
    has_sent: bool
    contacts: int
    open_conversations: int
    sent_recently: int

    @property
    def steps_done(self) -> int:
        """How many of the getting-started steps are done."""
        return sum((self.whatsapp_linked, self.has_contacts, self.has_sent))


def overview(now: datetime | None = None) -> Overview:
    """The current tenant's getting-started steps and counts (contacts, open conversations, sent lately)."""
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    channel = get_channel()
    contacts = db.session.scalar(select(func.count(Contact.id))) or 0
    # A conversation is a contact with messages; one nobody wrote to yet is not open.
    open_conversations = db.session.scalar(
        select(func.count(Contact.id)).where(
            Contact.conversation_status == ConversationStatus.OPEN,
            select(Message.id).where(Message.contact_id == Contact.id).exists(),
        )
    ) or 0
    sent_recently = db.session.scalar(
        select(func.count(Message.id)).where(
            Message.direction == Direction.OUTBOUND, Message.status.in_(SENT_STATUSES), Message.created_at >= since,
        )
    ) or 0
    has_sent = db.session.scalar(select(Message.id).where(Message.direction == Direction.OUTBOUND).limit(1)) is not None
    return Overview(
        whatsapp_linked=channel is not None and channel.is_connected, has_contacts=contacts > 0, has_sent=has_sent,
        contacts=contacts, open_conversations=open_conversations, sent_recently=sent_recently,
    )
