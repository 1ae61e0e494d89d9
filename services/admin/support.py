"""Read-only support views into a workspace: its contacts and one conversation, each look written to the
audit log (in the workspace's own log, naming the admin and what was opened)."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Contact
from models.tenancy import tenant_scope
from services.audit import record
from services.contacts import search_contacts
from services.inbox import thread
from services.paging import Page, capped_page

PER_PAGE = 50


def support_contacts(tenant_id: int, query: str = "", page: int = 1) -> Page:
    """A page of the workspace's contacts, as its own contacts list shows them."""
    with tenant_scope(tenant_id):
        found = capped_page(search_contacts(query), page, PER_PAGE)
        record("admin.viewed_contacts", tenant_id=tenant_id, changes={"search": query or None, "page": page})
    return found


def support_conversation(tenant_id: int, contact_id: int):
    """(contact, its latest messages, whether older ones exist), or None when the workspace has no such contact."""
    with tenant_scope(tenant_id):
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        if contact is None:
            return None
        messages, more = thread(contact)
        record("admin.viewed_conversation", target=contact, tenant_id=tenant_id, changes={"contact": contact.name})
    return contact, messages, more
