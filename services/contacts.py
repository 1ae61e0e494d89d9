"""Creating, updating and searching contacts."""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Contact, ContactTag, Tag
from models.base import utcnow
from services import events, paging
from services.drips.enrolment import tags_added as drip_tags_added
from services.emails import looks_like_email
from services.errors import Duplicate, Invalid
from services.notes import add_note
from services.paging import Cursor, Page, capped_count, capped_page, seek_page
from services.phones import InvalidPhone, normalize_phone
from services.quotas import ensure_contact_room
from services.text_search import ESCAPE, contains_pattern, trigram_lookups

CUSTOM_FIELD_KEY_MAX = 50
CUSTOM_FIELD_VALUE_MAX = 500
CUSTOM_FIELDS_MAX = 50
# What a typed phone number may look like: digits, spaces, dashes, dots, brackets and a plus.
_PHONE_LIKE = re.compile(r"[\d\s()+.-]+")
# The list's order, newest first; (tenant_id, created_at DESC, id DESC) is its index on PostgreSQL.
SORT_KEYS = (Contact.created_at, Contact.id)


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
    clash = False
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
            clash = True
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
        # Only a taken phone is a conflict (409 to API callers); anything else wrong is plain invalid input.
        raise (Duplicate if clash and len(errors) == 1 else Invalid)(errors)
    return clean, tags


def save_contact(data: ContactInput, region: str, contact: Contact | None = None, *,
                 author_id: int | None = None, source: str = "ui") -> Contact:
    """Validate and create or update a contact (flushes; the caller commits).

    Notes typed with a new contact become the first entry of its notes timeline (by `author_id`); the old
    single notes column is no longer written. A `contact.created` or `contact.updated` event records it.
    """
    clean, tags = _validate(data, region, contact)
    created = contact is None
    if created:
        ensure_contact_room()
    first_note = clean.pop("notes") if created else None
    clean.pop("notes", None)
    contact = contact or Contact()
    changed = sorted(key for key, value in clean.items() if created or getattr(contact, key) != value)
    for key, value in clean.items():
        setattr(contact, key, value)
    db.session.add(contact)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Duplicate({"phone": f"{clean['phone']} already belongs to another contact."}) from exc
    if created:
        events.emit(events.CONTACT_CREATED, contact_id=contact.id, data={"source": source})
    elif changed:
        events.emit(events.CONTACT_UPDATED, contact_id=contact.id, data={"fields": changed})
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
    removed = [link.tag_id for tag_id, link in have.items() if tag_id not in wanted]
    for tag_id, link in have.items():
        if tag_id not in wanted:
            db.session.delete(link)
    for tag_id in wanted - have.keys():
        db.session.add(ContactTag(contact_id=contact.id, tag_id=tag_id))
    db.session.flush()
    db.session.expire(contact, ["tags"])
    drip_tags_added(contact, wanted - have.keys())
    _tag_events(contact, events.TAG_ADDED, sorted(wanted - have.keys()))
    _tag_events(contact, events.TAG_REMOVED, sorted(removed))


def _tag_events(contact: Contact, kind: str, tag_ids: list[int]) -> None:
    if not tag_ids:
        return
    names = dict(db.session.execute(select(Tag.id, Tag.name).where(Tag.id.in_(tag_ids))).tuples().all())
    for tag_id in tag_ids:
        events.emit(kind, contact_id=contact.id, subject_id=tag_id, data={"tag": names.get(tag_id)})


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
        drip_tags_added(contact, {tag.id})
        events.emit(events.TAG_ADDED, contact_id=contact.id, subject_id=tag.id, data={"tag": tag.name})
    return tag


def remove_tag(contact: Contact, tag: Tag) -> None:
    """Detach `tag` from `contact`."""
    link = db.session.scalar(select(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag_id == tag.id))
    if link is not None:
        db.session.delete(link)
        db.session.flush()
        db.session.expire(contact, ["tags"])
        events.emit(events.TAG_REMOVED, contact_id=contact.id, subject_id=tag.id, data={"tag": tag.name})


def search_contacts(query: str = "", tag_id: int | None = None, *criteria: ColumnElement[bool],
                    common_tag: bool = False) -> Select:
    """SELECT of contacts matching `query` (name, phone, email), `tag_id` and any `criteria`, newest first.

    `common_tag` says the tag is on more contacts than the list counts: the page is then found by walking
    the newest-first index and checking each contact's tag, instead of sorting every tagged contact.
    """
    stmt = select(Contact).where(*criteria).order_by(*(key.desc() for key in SORT_KEYS))
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
        tagged = select(ContactTag.id).where(ContactTag.contact_id == Contact.id, ContactTag.tag_id == tag_id)
        if common_tag:
            # OFFSET 0 keeps PostgreSQL from turning the EXISTS into a join over all the tag's links: it
            # stays a per-row probe of (tenant_id, tag_id, contact_id) while the newest-first index is read,
            # which stops after a page's worth when the tag is common. A rare tag takes the join instead.
            tagged = tagged.offset(0)
        stmt = stmt.where(tagged.exists())
    return stmt


def contacts_page(query: str = "", tag_id: int | None = None, *criteria: ColumnElement[bool], page: int = 1,
                  per_page: int = 25, after: Cursor | None = None, before: Cursor | None = None) -> Page:
    """One page of the contacts list: numbered near the top, by cursor past the counted rows.

    With a tag or a cursor the capped count runs first: it tells a common tag from a rare one, and a cursor's
    page needs it. Otherwise it runs after the page, and only when the page does not show where the rows
    end. A search's count reads the trigram indexes; its page is left to the planner (the newest-first walk
    stops early when matches are common, the trigram bitmap wins when they are rare).
    """
    def count() -> int:
        with contextlib.nullcontext() if not (query or "").strip() else trigram_lookups():
            return capped_count(search_contacts(query, tag_id, *criteria))

    counted = count() if tag_id is not None or after is not None or before is not None else None
    stmt = search_contacts(query, tag_id, *criteria, common_tag=counted is not None and counted > paging.COUNT_CAP)
    if after is not None or before is not None:
        found = seek_page(stmt, SORT_KEYS, after or before, per_page, before=after is None, counted=counted)
        if found is not None:
            return found
        page = 1
    return capped_page(stmt, page, per_page, counted=counted, keys=SORT_KEYS, count=count)
