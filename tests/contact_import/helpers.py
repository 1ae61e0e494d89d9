"""Building CSV files and running imports to the end, for the import tests."""
from __future__ import annotations

from sqlalchemy import select

from models import Contact, ContactImport, ImportRowError
from services.contact_import import create_import, start_import


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False) -> bytes:
    """The rows as a CSV file (CRLF lines, as spreadsheets write them)."""
    text = "\r\n".join(delimiter.join(cells) for cells in rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def phone(n: int) -> str:
    """A valid US number, distinct for each n below 8,000,000."""
    return f"+1415{2000000 + n:07d}"


def start(in_tenant, tenant_id: int, data: bytes, *, mapping=None, mode="create", tag_ids=(), name="people.csv") -> int:
    """Upload `data` and start it with its guessed mapping (or `mapping`); the import's id."""
    with in_tenant(tenant_id):
        item = create_import(name, data)
        start_import(item, mapping if mapping is not None else dict(item.mapping), mode, list(tag_ids), "US")
        return item.id


def outcome(in_tenant, tenant_id: int, import_id: int) -> tuple[ContactImport, list[tuple[int, str]]]:
    """The import (detached) and its refused rows as (line, reason)."""
    with in_tenant(tenant_id) as session:
        item = session.get(ContactImport, import_id)
        refused = [(e.line, e.reason) for e in session.scalars(
            select(ImportRowError).where(ImportRowError.import_id == import_id).order_by(ImportRowError.line))]
        session.expunge(item)
        return item, refused


def contacts(in_tenant, tenant_id: int) -> dict[str, Contact]:
    """Phone -> contact (detached, with tags loaded)."""
    with in_tenant(tenant_id) as session:
        found = {c.phone: c for c in session.scalars(select(Contact))}
        for contact in found.values():
            _ = contact.tags
        session.expunge_all()
        return found

