"""Notes: the timeline of entries on a contact, each with its author and time, optionally about one of its deals."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Contact, Deal, Note
from services.errors import Invalid


def add_note(contact: Contact, body: str, *, deal: Deal | None = None, author_id: int | None = None) -> Note:
    """A new timeline entry on the contact (and the deal, which must be the contact's) (flushes)."""
    clean = (body or "").strip()
    if not clean:
        raise Invalid({"body": "Write the note first."})
    if len(clean) > Note.BODY_MAX:
        raise Invalid({"body": f"Keep a note under {Note.BODY_MAX} characters."})
    if deal is not None and deal.contact_id != contact.id:
        raise Invalid({"": "That deal belongs to another contact."})
    note = Note(contact_id=contact.id, deal_id=deal.id if deal is not None else None, body=clean,
                author_id=author_id)
    db.session.add(note)
    db.session.flush()
    return note


def delete_note(note: Note) -> None:
    """Remove an entry from the timeline (flushes)."""
    db.session.delete(note)
    db.session.flush()


def timeline_of_contact(contact: Contact) -> list[Note]:
    """The contact's notes, newest first."""
    return list(db.session.scalars(select(Note).where(Note.contact_id == contact.id)
                                   .order_by(Note.created_at.desc(), Note.id.desc())))


def timeline_of_deal(deal: Deal) -> list[Note]:
    """The notes about one deal, newest first."""
    return list(db.session.scalars(select(Note).where(Note.deal_id == deal.id)
                                   .order_by(Note.created_at.desc(), Note.id.desc())))
