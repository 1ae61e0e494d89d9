"""Fairness between workspaces, measured inside bench/broadcast.py while a big broadcast is sending.

A second workspace arrives mid-broadcast: one inbox reply a person is waiting on, and a small broadcast
of its own. The figures are how long each waited for its first send (queued -> sent at the provider).
"""
from __future__ import annotations

import time

from bench.broadcast import make_tenant, start_broadcast

OTHER_CONTACTS = 20


def arrive(app, rate: float) -> dict:
    """Workspace B queues a reply and starts a broadcast now; returns what `waits` needs to find them."""
    from sqlalchemy import select

    from extensions import db
    from models import Contact
    from models.tenancy import tenant_scope
    from services.outbox import queue_text

    # Numbers of its own, so the provider's duplicate count stays about the big broadcast.
    tenant = make_tenant(app, rate, OTHER_CONTACTS, "other", first_phone=4166000000)
    with app.app_context(), tenant_scope(tenant):
        contact = db.session.scalar(select(Contact).order_by(Contact.id).limit(1))
        reply = queue_text(contact, "Yes, we open at nine")
        db.session.commit()
        reply_id = reply.id
    broadcast_id, _took = start_broadcast(app, tenant)
    return {"tenant": tenant, "reply": reply_id, "broadcast": broadcast_id, "at": time.time()}


def waits(app, other: dict, timeout: float = 120) -> tuple[float | None, float | None]:
    """(seconds until B's reply was sent, seconds until B's broadcast's first message was sent), polled."""
    from sqlalchemy import func, select

    from core.enums import MessageOrigin
    from extensions import db
    from models import Message
    from models.tenancy import tenant_scope

    deadline = other["at"] + timeout
    while True:
        with app.app_context(), tenant_scope(other["tenant"]):
            reply = db.session.scalar(select(Message.sent_at).where(Message.id == other["reply"]))
            first = db.session.scalar(select(func.min(Message.sent_at))
                                      .where(Message.origin == MessageOrigin.BROADCAST))
            db.session.remove()
        if (reply and first) or time.time() > deadline:
            break
        time.sleep(0.2)
    return tuple(None if at is None else at.timestamp() - other["at"] for at in (reply, first))
