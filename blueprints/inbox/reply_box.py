"""What a send answers: the reply box again, emptied and announced, or refused with the reason."""
from __future__ import annotations

from flask import Response, url_for

from blueprints.htmx import REFUSED, is_htmx, render, see_other, with_trigger
from blueprints.inbox.context import conversation_context, reply_context
from extensions import db
from models import Contact
from services.channels import get_channel

SENT_EVENT = "inbox:sent"  # the thread listens for it and refreshes at once


def sent(contact: Contact) -> Response:
    """After a send: an empty reply box plus an event the thread refreshes on, or a 303 back."""
    if is_htmx():
        return with_trigger(render("inbox/_reply.html", **reply_context(contact, get_channel())), SENT_EVENT)
    return see_other(url_for("inbox.conversation", contact_id=contact.id))


def refused(contact: Contact, **reply) -> Response:
    """Show why, keep what was typed: the reply box for htmx, the whole conversation otherwise."""
    db.session.rollback()
    context = reply_context(contact, get_channel(), **reply) if is_htmx() else conversation_context(contact, **reply)
    return render("inbox/conversation.html", "inbox/_reply.html", status=REFUSED, **context)
