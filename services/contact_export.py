"""Contacts as CSV (all of them, a tag, a segment or a search), streamed in batches with tags and custom fields."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from extensions import db
from models import Contact, ContactTag, Segment, Tag
from services.audit import record
from services.contacts import search_contacts
from services.deals.export import safe_cell
from services.segments import criterion

BASE_HEADER = ("id", "name", "phone", "email", "tags", "opted_out", "created_at")
BATCH = 1000


@dataclass(frozen=True)
class Audience:
    """Which contacts: the list's own filters (a search, a tag, a segment; none for all of them).

    Ids and names only, no ORM objects: the CSV streams after the request's session has closed.
    """

    query: str = ""
    tag_id: int | None = None
    tag_name: str | None = None
    segment_id: int | None = None
    segment_name: str | None = None

    @classmethod
    def of(cls, query: str = "", tag: Tag | None = None, segment: Segment | None = None) -> Audience:
        """The audience for the list's filters (tag and segment already checked to be the workspace's)."""
        return cls(query=(query or "").strip(), tag_id=tag.id if tag else None, tag_name=tag.name if tag else None,
                   segment_id=segment.id if segment else None, segment_name=segment.name if segment else None)

    @property
    def kind(self) -> str:
        return "segment" if self.segment_id else "tag" if self.tag_id else "search" if self.query else "all"

    def describe(self) -> dict[str, str]:
        """What the audit entry says about it."""
        found = {"audience": self.kind, "search": self.query, "tag": self.tag_name, "segment": self.segment_name}
        return {key: value for key, value in found.items() if value}

    def statement(self) -> Select:
        """SELECT of the contacts (as the contacts list finds them), oldest first for a stable file."""
        criteria = []
        if self.segment_id is not None:
            segment = db.session.scalar(select(Segment).where(Segment.id == self.segment_id))
            criteria.append(criterion(segment))
        return search_contacts(self.query, self.tag_id, *criteria).order_by(None).order_by(Contact.id)


def _line(cells, phone: str | None = None) -> str:
    """One CSV line, every cell defused; the phone is E.164 (a plus and digits, checked when saved) and stays as it
    is so the file imports again."""
    buffer = io.StringIO()
    safe = [safe_cell(cell) for cell in cells]
    if phone is not None:
        safe[2] = phone
    csv.writer(buffer).writerow(safe)
    return buffer.getvalue()


def record_export(audience: Audience) -> int:
    """Write the "contacts.exported" audit entry (audience and row count) before the CSV streams; the count."""
    stmt = audience.statement()
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    record("contacts.exported", target_type="contacts", changes={**audience.describe(), "rows": count})
    return count


def _custom_keys(stmt: Select) -> list[str]:
    """Every custom field name the exported contacts use, sorted: one column each."""
    keys: set[str] = set()
    for fields in db.session.scalars(stmt.with_only_columns(Contact.custom_fields).execution_options(yield_per=BATCH)):
        keys.update(fields or {})
    return sorted(keys)


def _tags_of(contact_ids: list[int]) -> dict[int, list[str]]:
    rows = db.session.execute(select(ContactTag.contact_id, Tag.name)
                              .join(Tag, (Tag.id == ContactTag.tag_id) & (Tag.tenant_id == ContactTag.tenant_id))
                              .where(ContactTag.contact_id.in_(contact_ids)).order_by(Tag.name))
    found: dict[int, list[str]] = {}
    for contact_id, name in rows:
        found.setdefault(contact_id, []).append(name)
    return found


def csv_lines(audience: Audience) -> Iterator[str]:
    """The header, then one line per contact; tags and custom fields fetched a batch at a time (stream it)."""
    stmt = audience.statement()
    keys = _custom_keys(stmt)
    # A custom field named like a column of its own gets a prefix, so no header appears twice.
    yield _line((*BASE_HEADER, *(f"custom:{key}" if key in BASE_HEADER else key for key in keys)))
    columns = stmt.with_only_columns(Contact.id, Contact.name, Contact.phone, Contact.email, Contact.opted_out,
                                     Contact.created_at, Contact.custom_fields)
    result = db.session.execute(columns.execution_options(yield_per=BATCH))
    for batch in result.partitions():
        tags = _tags_of([row.id for row in batch])
        lines = []
        for row in batch:
            fields = row.custom_fields or {}
            lines.append(_line((row.id, row.name, row.phone, row.email, ", ".join(tags.get(row.id, [])),
                                "yes" if row.opted_out else "no", row.created_at.isoformat(),
                                *(fields.get(key, "") for key in keys)), phone=row.phone))
        yield "".join(lines)
