"""Small builders for tenant data (used inside a tenant scope)."""
from __future__ import annotations

from extensions import db
from models import Contact, ContactTag, Tag

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def make_contact(name: str | None = None, phone: str | None = None, **fields) -> Contact:
    """A contact with a unique valid phone unless one is given."""
    n = _next()
    contact = Contact(name=name or f"Contact {n}", phone=phone or f"+1415555{n % 10000:04d}", **fields)
    db.session.add(contact)
    db.session.flush()
    return contact


def make_tag(name: str | None = None, color: str = "#336699") -> Tag:
    """A tag with a unique name unless one is given."""
    tag = Tag(name=name or f"tag-{_next()}", color=color)
    db.session.add(tag)
    db.session.flush()
    return tag


def link(contact: Contact, tag: Tag) -> ContactTag:
    """Attach `tag` to `contact`."""
    row = ContactTag(contact_id=contact.id, tag_id=tag.id)
    db.session.add(row)
    db.session.flush()
    return row
