"""Creating, updating and searching contacts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Contact, ContactTag, Tag
from models.base import utcnow
from services.emails import looks_like_email
from services.errors import Invalid
from services.notes import add_note
from services.phones import InvalidPhone, normalize_phone
from services.text_search import ESCAPE, contains_pattern

CUSTOM_FIELD_KEY_MAX = 50
CUSTOM_FIELD_VALUE_MAX = 500
CUSTOM_FIELDS_MAX = 50
# What a typed phone number may look like: digits, spaces, dashes, dots, brackets and a plus.
_PHONE_LIKE = re.compile(r"[\d\s()+.-]+")


@dataclass
class ContactInput:
    """What a person typed for a contact, before validation."""

    name: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""
    custom_fields: dict[str, Any] = field(default_factory=dict)
    tag_ids: list[int] | None = None  # None leaves tags unchanged


def parse_custom_fields(text: str) -> dict[str, str]:
    """Read `key: value` lines into a dict; raises Invalid naming the bad line."""
    fields: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise Invalid({"custom_fields": f"Line {number}: write it as “key: value”."})
        fields[key.strip()] = value.strip()
    return fields


def format_custom_fields(fields: dict[str, Any]) -> str:
    """The inverse of parse_custom_fields, for editing."""
    return "\n".join(f"{key}: {value}" for key, value in (fields or {}).items())


def _validate(data: ContactInput, region: str, current: Contact | None) -> tuple[dict, list[Tag] | None]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    clean["name"] = (data.name or "").strip()
    if not clean["name"]:
        errors["name"] = "Enter a name."
    elif len(clean["name"]) > Contact.NAME_MAX:
        errors["name"] = f"Keep the name under {Contact.NAME_MAX} characters."
    try:
        clean["phone"] = normalize_phone(data.phone, region)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
    else:
        duplicate = db.session.scalar(select(Contact).where(Contact.phone == clean["phone"]))
        if duplicate is not None and duplicate is not current:
            errors["phone"] = f"{clean['phone']} already belongs to {duplicate.name}."
    clean["email"] = (data.email or "").strip().lower() or None
    if clean["email"] and (len(clean["email"]) > Contact.EMAIL_MAX or not looks_like_email(clean["email"])):
        errors["email"] = "Enter a valid email address or leave it empty."
    clean["notes"] = (data.notes or "").strip() or None
    if clean["notes"] and len(clean["notes"]) > Contact.NOTES_MAX:
        errors["notes"] = f"Keep notes under {Contact.NOTES_MAX} characters."
    fields = data.custom_fields or {}
    if len(fields) > CUSTOM_FIELDS_MAX:
        errors["custom_fields"] = f"At most {CUSTOM_FIELDS_MAX} custom fields."
    elif any(len(str(k)) > CUSTOM_FIELD_KEY_MAX or len(str(v)) > CUSTOM_FIELD_VALUE_MAX for k, v in fields.items()):
        errors["custom_fields"] = (
            f"Field names stay under {CUSTOM_FIELD_KEY_MAX} characters and values under {CUSTOM_FIELD_VALUE_MAX}."
        )
    clean["custom_fields"] = {str(k): str(v) for k, v in fields.items()}
    tags = None
    if data.tag_ids is not None:
        wanted = set(data.tag_ids)
        tags = list(db.session.scalars(select(Tag).where(Tag.id.in_(wanted)))) if wanted else []
        if len(tags) != len(wanted):
            errors["tags"] = "One of the chosen tags does not exist."
    if errors:
        raise Invalid(errors)
    return clean, tags


def save_contact(data: ContactInput, region: str, contact: Contact | None = None, *,
                 author_id: int | None = None) -> Contact:
    """Validate and create or update a contact (flushes; the caller commits).

    Notes typed with a new contact become the first entry of its notes timeline (by `author_id`); the old
    single notes column is no longer written.
    """
    clean, tags = _validate(data, region, contact)
    first_note = clean.pop("notes") if contact is None else None
    clean.pop("notes", None)
    contact = contact or Contact()
    for key, value in clean.items():
        setattr(contact, key, value)
    db.session.add(contact)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid({"phone": f"{clean['phone']} already belongs to another contact."}) from exc
    if tags is not None:
        set_contact_tags(contact, tags)
    if first_note:
        add_note(contact, first_note, author_id=author_id)
    return contact


def set_contact_tags(contact: Contact, tags: list[Tag]) -> None:
    """Make `tags` exactly the contact's tags."""
    wanted = {tag.id for tag in tags}
    links = db.session.scalars(select(ContactTag).where(ContactTag.contact_id == contact.id))
    have = {link.tag_id: link for link in links}
    for tag_id, link in have.items():
        if tag_id not in wanted:
            db.session.delete(link)
    for tag_id in wanted - have.keys():
        db.session.add(ContactTag(contact_id=contact.id, tag_id=tag_id))
    db.session.flush()
    db.session.expire(contact, ["tags"])


def delete_contact(contact: Contact) -> None:
    """Delete `contact` with its tag links and messages (flushes; the caller commits)."""
    db.session.delete(contact)
    db.session.flush()


def mark_read(contact: Contact) -> None:
    """Everything `contact` has sent so far counts as seen."""
    contact.last_read_at = utcnow()
    db.session.flush()


def add_tag(contact: Contact, tag_id: int | None) -> Tag:
    """Attach the tenant's tag `tag_id` to `contact` (no-op when already attached)."""
    tag = db.session.scalar(select(Tag).where(Tag.id == tag_id)) if tag_id is not None else None
    if tag is None:
        raise Invalid({"tag_id": "Choose one of your tags."})
    linked = db.session.scalar(
        select(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag_id == tag.id))
    if linked is None:
        db.session.add(ContactTag(contact_id=contact.id, tag_id=tag.id))
        db.session.flush()
        db.session.expire(contact, ["tags"])
    return tag


def remove_tag(contact: Contact, tag: Tag) -> None:
    """Detach `tag` from `contact`."""
    link = db.session.scalar(select(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag_id == tag.id))
    if link is not None:
        db.session.delete(link)
        db.session.flush()
        db.session.expire(contact, ["tags"])


def search_contacts(query: str = "", tag_id: int | None = None, *criteria: ColumnElement[bool]) -> Select:
    """SELECT of contacts matching `query` (name, phone, email), `tag_id` and any `criteria`, newest first."""
    stmt = select(Contact).where(*criteria).order_by(Contact.created_at.desc(), Contact.id.desc())
    text = (query or "").strip()
    if text:
        # What was typed is literal: % and _ are characters here, not wildcards.
        like = contains_pattern(text.lower())
        digits = re.sub(r"\D", "", text)
        conditions = [func.lower(Contact.name).like(like, escape=ESCAPE),
                      func.lower(Contact.email).like(like, escape=ESCAPE)]
        # Only text that reads as a number searches phones: "sven.50018" is an email, not "%50018%".
        if digits and _PHONE_LIKE.fullmatch(text):
            conditions.append(Contact.phone.like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
    if tag_id is not None:
        stmt = stmt.where(select(ContactTag.id).where(ContactTag.contact_id == Contact.id,
                                                     ContactTag.tag_id == tag_id).exists())
    return stmt
