"""The progress page's recipients table: one state at a time, 50 rows a page, keyset on the recipient id.

Paging by id (``after`` / ``before``) reads only the rows shown plus one, whatever the broadcast's size: no
OFFSET and no count, so the 2,000th page of a 100,000-recipient broadcast costs what the first does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, not_, or_, select

from core.enums import RecipientState
from extensions import db
from models import Broadcast, BroadcastRecipient, Contact, Message
from services.errors import Invalid

PAGE_SIZE = 50
# The states the table filters by, named as the counters name them (delivered and read come from the message).
STATES = ("queued", "sending", "sent", "delivered", "read", "failed", "unknown", "skipped", "cancelled")
_JOIN = and_(Message.id == BroadcastRecipient.message_id, Message.tenant_id == BroadcastRecipient.tenant_id)
_ON_ITS_WAY = ("sent", "delivered", "read")


@dataclass
class RecipientPage:
    """One page of the table: its rows, and the ids the Next and Previous links start from."""

    rows: list = field(default_factory=list)   # (recipient, contact name, phone, shown state, reason)
    next_after: int | None = None
    previous_before: int | None = None


def _condition(state: str):
    """Recipients in the counter `state`, exactly as progress._bucket sorts them (the table matches the counts)."""
    recipient, status = BroadcastRecipient.state, Message.status
    if state == "sent":
        plain = or_(status.is_(None), not_(status.in_(("delivered", "read"))))
        return or_(and_(recipient == RecipientState.SENDING, status.in_(_ON_ITS_WAY)),
                   and_(recipient == RecipientState.SENT, plain))
    if state in ("delivered", "read"):
        return and_(recipient == RecipientState.SENT, status == state)
    if state in ("failed", "unknown"):
        return or_(recipient == state, and_(recipient == RecipientState.SENDING, status == state))
    if state == "sending":
        return and_(recipient == RecipientState.SENDING,
                    or_(status.is_(None), not_(status.in_((*_ON_ITS_WAY, "failed", "unknown")))))
    return recipient == state


def _shown(recipient: BroadcastRecipient, status: str | None) -> str:
    """The state a row shows: its counter's name."""
    if recipient.state == RecipientState.SENDING and status in (*_ON_ITS_WAY, "failed", "unknown"):
        return "sent" if status in _ON_ITS_WAY else status
    if recipient.state == RecipientState.SENT and status in ("delivered", "read"):
        return status
    return recipient.state


def parse_query(args) -> tuple[str | None, int | None, int | None]:
    """(state, after, before) from the table's query string; Invalid says what is wrong with it."""
    errors = {}
    state = args.get("state") or None
    if state is not None and state not in STATES:
        errors["state"] = f"Unknown state “{state}”: choose one of {', '.join(STATES)}."
    ids = {}
    for name in ("after", "before"):
        raw = (args.get(name) or "").strip()
        if raw and not (raw.isdigit() and len(raw) < 19):
            errors[name] = f"“{raw}” is not a page of this table: start again from the first page."
        ids[name] = int(raw) if raw and name not in errors else None
    if ids["after"] is not None and ids["before"] is not None:
        errors["page"] = "Choose either the next or the previous page, not both."
    if errors:
        raise Invalid(errors)
    return state, ids["after"], ids["before"]


def recipients(broadcast: Broadcast, state: str | None = None, after: int | None = None,
               before: int | None = None, size: int = PAGE_SIZE) -> RecipientPage:
    """A page of recipients in `state` (all when None) after or before a recipient id, in id order."""
    # The page's ids first, from the recipients (and their messages' status) alone, then its rows with
    # names: joined to contacts up front, a filtered page read and hashed the workspace's contacts.
    picking = select(BroadcastRecipient.id).outerjoin(Message, _JOIN).where(
        BroadcastRecipient.broadcast_id == broadcast.id)
    if state:
        picking = picking.where(_condition(state))
    backwards = before is not None
    if backwards:
        picking = picking.where(BroadcastRecipient.id < before).order_by(BroadcastRecipient.id.desc())
    else:
        picking = picking.where(BroadcastRecipient.id > (after or 0)).order_by(BroadcastRecipient.id)
    ids = db.session.scalars(picking.limit(size + 1)).all()  # one more says whether there is a page beyond
    stmt = (select(BroadcastRecipient, Contact.name, Contact.phone, Message.status, Message.error_title)
            .join(Contact, and_(Contact.id == BroadcastRecipient.contact_id,
                                Contact.tenant_id == BroadcastRecipient.tenant_id))
            .outerjoin(Message, _JOIN).where(BroadcastRecipient.id.in_(ids))
            .order_by(BroadcastRecipient.id.desc() if backwards else BroadcastRecipient.id))
    found = db.session.execute(stmt).all() if ids else []
    more, found = len(found) > size, found[:size]
    if backwards:
        found.reverse()
    page = RecipientPage([(r, name, phone, _shown(r, status), r.reason or error or "")
                          for r, name, phone, status, error in found])
    if found:
        first, last = found[0][0].id, found[-1][0].id
        # Coming back from a later page there is a next one; coming forward from an earlier one, a previous one.
        page.next_after = last if (more if not backwards else True) else None
        page.previous_before = first if (more if backwards else bool(after)) else None
    return page
