"""/api/v1/contacts: list (search, tag, cursor), get, create, update, delete, and a contact's tags."""
from __future__ import annotations

from datetime import datetime

from flask import request
from pydantic import BaseModel, Field

from blueprints.api.blueprint import operation, path_model, path_object
from blueprints.api.schemas import DbId, Deleted, PageQuery
from extensions import db
from models import Contact, Tag, Tenant
from models.tenancy import current_tenant_id
from services.contacts import (
    SORT_KEYS,
    ContactInput,
    add_tag,
    delete_contact,
    remove_tag,
    save_contact,
    search_contacts,
)
from services.paging import keyset_page

path_model("contact_id", Contact)
path_model("tag_id", Tag)
TAG = "Contacts"


class TagRef(BaseModel):
    """A tag as it appears on a contact."""

    id: int
    name: str


class ContactOut(BaseModel):
    """A contact."""

    id: int
    name: str
    phone: str = Field(description="E.164, e.g. +14155550100")
    email: str | None
    custom_fields: dict[str, str]
    tags: list[TagRef]
    opted_out: bool
    conversation_status: str
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ContactList(BaseModel):
    """A page of contacts, newest first."""

    items: list[ContactOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ContactQuery(PageQuery):
    """Filters of the contact list."""

    q: str | None = Field(None, max_length=200, description="Text in the name, email or phone.")
    tag_id: DbId | None = Field(None, description="Only contacts with this tag.")


class ContactCreate(BaseModel):
    """A new contact; the phone is read in the workspace's default region unless it starts with +."""

    name: str = Field(max_length=Contact.NAME_MAX)
    phone: str = Field(max_length=40)
    email: str | None = Field(None, max_length=Contact.EMAIL_MAX)
    notes: str | None = Field(None, max_length=Contact.NOTES_MAX)
    custom_fields: dict[str, str] = Field(default_factory=dict)
    tag_ids: list[DbId] | None = Field(None, description="The contact's tags (replacing any it has).")


class ContactUpdate(BaseModel):
    """Fields to change; those left out keep their value."""

    name: str | None = Field(None, max_length=Contact.NAME_MAX)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=Contact.EMAIL_MAX)
    custom_fields: dict[str, str] | None = None
    tag_ids: list[DbId] | None = None


class TagLink(BaseModel):
    """The tag to put on a contact."""

    tag_id: DbId


def contact_out(contact: Contact) -> ContactOut:
    """A contact as the API shows it."""
    return ContactOut(
        id=contact.id, name=contact.name, phone=contact.phone, email=contact.email,
        custom_fields={str(k): str(v) for k, v in (contact.custom_fields or {}).items()},
        tags=[TagRef(id=tag.id, name=tag.name) for tag in contact.tags], opted_out=contact.opted_out,
        conversation_status=contact.conversation_status, last_message_at=contact.last_message_at,
        created_at=contact.created_at, updated_at=contact.updated_at)


def _region() -> str:
    return db.session.get(Tenant, current_tenant_id()).default_region


@operation("/contacts", tag=TAG, query=ContactQuery, ok=ContactList)
def list_contacts():
    """Contacts, newest first, optionally matching `q` and carrying `tag_id`."""
    query: ContactQuery = request.context.query
    stmt = search_contacts(query.q or "", query.tag_id)
    items, next_cursor = keyset_page(stmt, SORT_KEYS, query.cursor, query.limit)
    return ContactList(items=[contact_out(c) for c in items], next_cursor=next_cursor)


@operation("/contacts", "POST", tag=TAG, body=ContactCreate, ok=ContactOut, status=201, errors=(409,))
def create_contact():
    """Create a contact (409 when the phone already belongs to one; the contact quota applies)."""
    data: ContactCreate = request.context.json
    contact = save_contact(ContactInput(name=data.name, phone=data.phone, email=data.email or "",
                                        notes=data.notes or "", custom_fields=data.custom_fields,
                                        tag_ids=data.tag_ids), _region(), source="api")
    db.session.commit()
    return contact_out(contact), 201


@operation("/contacts/<int:contact_id>", tag=TAG, ok=ContactOut)
def get_contact(contact_id: int):
    """One contact."""
    return contact_out(path_object("contact_id"))


@operation("/contacts/<int:contact_id>", "PATCH", tag=TAG, body=ContactUpdate, ok=ContactOut, errors=(409,))
def update_contact(contact_id: int):
    """Change a contact's fields."""
    contact = path_object("contact_id")
    data: ContactUpdate = request.context.json
    changes = data.model_dump(exclude_unset=True)
    merged = ContactInput(
        name=changes.get("name") if changes.get("name") is not None else contact.name,
        phone=changes.get("phone") if changes.get("phone") is not None else contact.phone,
        email=(changes["email"] or "") if "email" in changes else (contact.email or ""),
        custom_fields=changes.get("custom_fields") if changes.get("custom_fields") is not None
        else dict(contact.custom_fields or {}),
        tag_ids=changes.get("tag_ids"))
    save_contact(merged, _region(), contact)
    db.session.commit()
    return contact_out(contact)


@operation("/contacts/<int:contact_id>", "DELETE", tag=TAG, ok=Deleted)
def remove_contact(contact_id: int):
    """Delete a contact with its messages."""
    contact = path_object("contact_id")
    delete_contact(contact)
    db.session.commit()
    return Deleted(id=contact_id)


@operation("/contacts/<int:contact_id>/tags", "POST", tag=TAG, body=TagLink, ok=ContactOut)
def tag_contact(contact_id: int):
    """Put a tag on a contact (nothing changes when it has it already)."""
    contact = path_object("contact_id")
    add_tag(contact, request.context.json.tag_id)
    db.session.commit()
    return contact_out(contact)


@operation("/contacts/<int:contact_id>/tags/<int:tag_id>", "DELETE", tag=TAG, ok=ContactOut)
def untag_contact(contact_id: int, tag_id: int):
    """Take a tag off a contact."""
    contact = path_object("contact_id")
    remove_tag(contact, path_object("tag_id"))
    db.session.commit()
    return contact_out(contact)


__all__ = ["ContactOut", "contact_out"]
