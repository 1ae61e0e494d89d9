"""Quick replies: saved answers the reply box inserts; saving, deleting and listing them."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import QuickReply
from services.errors import Invalid


def list_quick_replies() -> list[QuickReply]:
    """The tenant's quick replies by shortcut."""
    return list(db.session.scalars(select(QuickReply).order_by(func.lower(QuickReply.shortcut))))


def _taken(shortcut: str, current: QuickReply | None) -> bool:
    """Shortcuts are unique per tenant regardless of case: /Thanks and /thanks would be ambiguous."""
    existing = db.session.scalar(select(QuickReply.id).where(func.lower(QuickReply.shortcut) == shortcut.lower()))
    return existing is not None and (current is None or existing != current.id)


def save_quick_reply(shortcut: str, body: str, quick_reply: QuickReply | None = None) -> QuickReply:
    """Create or change a quick reply (flushes; the caller commits); refuses a shortcut already taken."""
    duplicate = Invalid({"shortcut": f"/{shortcut} already exists. Edit that one or choose another shortcut."})
    if _taken(shortcut, quick_reply):
        raise duplicate
    quick_reply = quick_reply or QuickReply()
    quick_reply.shortcut, quick_reply.body = shortcut, body
    db.session.add(quick_reply)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # the same shortcut saved at the same moment in another tab
        raise duplicate from exc
    return quick_reply


def delete_quick_reply(quick_reply: QuickReply) -> None:
    """Delete `quick_reply` (flushes; the caller commits)."""
    db.session.delete(quick_reply)
    db.session.flush()
