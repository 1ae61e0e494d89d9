"""An import from upload to queued: store the file, show its first rows and a guessed mapping, then start it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from extensions import db
from models import ContactImport, Tag
from models.contact_import import ImportMode, ImportState
from services.audit import record
from services.contact_import import reading
from services.contact_import.rows import BadMapping, Clean, RowReader, plan_of
from services.contact_import.writing import existing_phones
from services.errors import Invalid
from services.queueing import BULK_QUEUE, enqueue_after_commit
from services.quotas import QuotaExceeded, contact_usage

RUN_JOB = "jobs.contact_import.run_import"
MODES = {ImportMode.CREATE: "Create new contacts only", ImportMode.UPSERT: "Create new and update by phone"}


@dataclass
class Preview:
    """What the mapping screen shows: the column titles, the first rows and the mapping so far."""

    titles: list[str]
    rows: list[list[str]]
    mapping: dict[str, str]


def create_import(filename: str, data: bytes, *, user_id: int | None = None) -> ContactImport:
    """Store an upload as a draft with its detected encoding and delimiter; raises Invalid when unreadable."""
    try:
        encoding, delimiter, text = reading.inspect(data)
    except reading.Unreadable as exc:
        raise Invalid({"file": str(exc)}) from exc
    item = ContactImport(filename=(filename or "contacts.csv")[:ContactImport.FILENAME_MAX], data=data,
                         size=len(data), encoding=encoding, delimiter=delimiter, created_by_id=user_id,
                         mapping=reading.guess_mapping(reading.header(text, delimiter)),
                         total_rows=reading.count_rows(text, delimiter))
    db.session.add(item)
    db.session.flush()
    return item


def preview_of(item: ContactImport) -> Preview:
    """The draft's titles, first rows and mapping."""
    text = reading.decode(item.data, item.encoding)
    return Preview(reading.header(text, item.delimiter), reading.preview(text, item.delimiter), dict(item.mapping))


def _new_rows(item: ContactImport, text: str, mapping: dict[str, str], region: str) -> int:
    """How many distinct phones of the file are not contacts yet (read only when the quota is at stake)."""
    reader = RowReader(plan_of(mapping, len(reading.header(text, item.delimiter))), region)
    phones = {c.phone for line, cells in reading.numbered_rows(text, item.delimiter)
              if isinstance(c := reader.read(line, cells), Clean)}
    known = 0
    ordered = sorted(phones)
    for start in range(0, len(ordered), 5000):
        known += len(existing_phones(ordered[start:start + 5000]))
    return len(phones) - known


def start_import(item: ContactImport, mapping: dict[str, str], mode: str, tag_ids: list[int], region: str) -> None:
    """Check the mapping, mode, tags and quota, then queue the import (flushes; the caller commits)."""
    if item.state != ImportState.DRAFT:
        raise Invalid({"": "This import has started already."})
    text = reading.decode(item.data, item.encoding)
    mapping = {position: target for position, target in mapping.items() if target}
    try:
        plan_of(mapping, len(reading.header(text, item.delimiter)))
    except BadMapping as exc:
        raise Invalid({"mapping": str(exc)}) from exc
    if mode not in MODES:
        raise Invalid({"mode": "Choose what happens to phones that are contacts already."})
    wanted = set(tag_ids)
    if len(db.session.scalars(select(Tag.id).where(Tag.id.in_(wanted))).all()) != len(wanted):
        raise Invalid({"tags": "One of the chosen tags does not exist."})
    usage = contact_usage()
    if item.total_rows > usage.left:
        # Only then is the file read through: in update mode its known phones take no room.
        adding = _new_rows(item, text, mapping, region) if mode == ImportMode.UPSERT else item.total_rows
        if adding > usage.left:
            raise QuotaExceeded({"": f"This file would add {adding:,} contacts, but the workspace has room for "
                                     f"{usage.left:,} more (limit {usage.limit:,}, {usage.used:,} stored). Delete "
                                     f"some contacts, split the file or ask support for a higher limit."})
    item.mapping, item.mode, item.tag_ids = mapping, mode, sorted(wanted)
    item.state = ImportState.QUEUED
    record("contacts.import_started", target=item,
           changes={"file": item.filename, "rows": item.total_rows, "mode": mode})
    db.session.flush()
    enqueue_after_commit(RUN_JOB, item.tenant_id, item.id, queue_name=BULK_QUEUE)


def recent_imports(limit: int = 20) -> list[ContactImport]:
    """The workspace's latest imports, newest first."""
    return list(db.session.scalars(select(ContactImport).order_by(ContactImport.id.desc()).limit(limit)))
