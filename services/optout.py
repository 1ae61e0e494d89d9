"""Opt-out and opt-in by keyword, and the confirmation customers receive once."""
from __future__ import annotations

import logging
import re

from sqlalchemy import select

from extensions import db
from models import Contact, Tenant
from models.base import utcnow
from services.outbox import SendRefused, queue_text

log = logging.getLogger(__name__)
OPT_OUT_CONFIRMATION = "You will not receive more messages from {name}. Reply START to subscribe again."
OPT_IN_CONFIRMATION = "You are subscribed to messages from {name} again. Reply STOP to unsubscribe."


def parse_keywords(text: str) -> list[str]:
    """A tenant's comma-separated keyword list, normalised to upper case without blanks."""
    return [word.strip().upper() for word in (text or "").split(",") if word.strip()]


def _normalise(message: str) -> str:
    # Customers write "Stop.", " stop!" or "STOP 🙏": compare the bare word.
    return re.sub(r"[^\w]+", " ", message or "").strip().upper()


def keyword_action(tenant: Tenant, message: str) -> str | None:
    """"out", "in" or None for an inbound text (the whole message must be the keyword)."""
    word = _normalise(message)
    if not word:
        return None
    if word in parse_keywords(tenant.opt_out_keywords):
        return "out"
    if word in parse_keywords(tenant.opt_in_keywords):
        return "in"
    return None


def set_opted_out(contact: Contact, opted_out: bool) -> bool:
    """Change the flag; returns whether it changed."""
    if contact.opted_out == opted_out:
        return False
    contact.opted_out = opted_out
    contact.opted_out_at = utcnow() if opted_out else None
    return True


def confirm(contact: Contact, opted_out: bool) -> None:
    """Send the one confirmation for a change (skipped, and logged, when sending is impossible)."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == contact.tenant_id))
    template = OPT_OUT_CONFIRMATION if opted_out else OPT_IN_CONFIRMATION
    try:
        queue_text(contact, template.format(name=tenant.name), origin="system")
    except SendRefused as exc:
        log.info("opt-%s confirmation not sent: %s", "out" if opted_out else "in", exc)


def handle_inbound_text(contact: Contact, text: str) -> str | None:
    """Apply a STOP/START keyword from an inbound message; returns the action taken."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.id == contact.tenant_id))
    action = keyword_action(tenant, text)
    if action is None:
        return None
    if set_opted_out(contact, action == "out"):
        confirm(contact, action == "out")
        return action
    return None


def handle_provider_opt_out(contact: Contact) -> bool:
    """The provider says the customer stopped messages: mark them and confirm once."""
    if set_opted_out(contact, True):
        confirm(contact, True)
        return True
    return False
