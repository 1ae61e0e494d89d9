"""The import job's work: the file in chunks, each committed with its position, so a new run resumes where the
last one stopped; a sweep re-queues imports whose worker went away, and gives up with a report after a few tries.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from itertools import islice

from sqlalchemy import update

from extensions import db
from models import ContactImport, Tenant
from models.base import utcnow
from models.contact_import import ImportMode, ImportState
from models.tenancy import current_tenant_id
from services import events
from services.contact_import import reading, writing
from services.contact_import.rows import BadMapping, Clean, RowReader, plan_of
from services.quotas import contact_usage

CHUNK = 2000
RUN_SECONDS = 60.0     # one job's share of the worker; the rest goes on in the next job
STALL_AFTER = timedelta(minutes=2)
# While the reading thread runs, the interpreter is handed over every half millisecond instead of every 5 ms: the
# writing thread, back from PostgreSQL, otherwise waits up to 5 ms for it at each of a chunk's dozens of round
# trips (`bench.import` at 100,000 rows: 17.4 s -> 13.0 s for the job).
HAND_OVER_SECONDS = 0.0005
MAX_ATTEMPTS = 3       # runs that started without moving the position before the import is reported failed
LIVE = (ImportState.QUEUED, ImportState.RUNNING)
Read = tuple[int, list[str], Clean | str]  # (line, cells, the row's values or why it is refused)


class _Run:
    """One run over an import: the rows still to do, phones seen before, and the room left under the quota."""

    def __init__(self, item: ContactImport, region: str):
        text = reading.decode(item.data, item.encoding)
        self.item_id, self.delimiter, self.update = item.id, item.delimiter, item.mode == ImportMode.UPSERT
        plan = plan_of(item.mapping, len(reading.header(text, item.delimiter)))
        self.reader = RowReader(plan, region)
        # What an update may change, named as contact.updated events name fields.
        self.fields = sorted({"phone", *(f for f in ("name", "email") if getattr(plan, f) is not None),
                              *(["custom_fields"] if plan.custom else [])})
        self.rows = reading.numbered_rows(text, item.delimiter)
        self.position = item.rows_done
        self.chosen_tags = writing.valid_tag_ids(item.tag_ids or [])
        # Phone -> first line it was on; rebuilt from the rows already done so a resumed run reports the same.
        self.seen: dict[str, int] = {}
        for line, cells in islice(self.rows, self.position):
            clean = self.reader.read(line, cells)
            if isinstance(clean, Clean):
                self.seen.setdefault(clean.phone, line)
        usage = contact_usage()
        self.limit, self.left = usage.limit, usage.left

    def read_chunk(self) -> list[Read]:
        """The next CHUNK rows, each with its values or why it is refused (a phone on an earlier line too)."""
        read: list[Read] = []
        for line, cells in islice(self.rows, CHUNK):
            clean = self.reader.read(line, cells)
            if isinstance(clean, Clean):
                first = self.seen.setdefault(clean.phone, line)
                if first != line:
                    clean = f"Same phone number ({clean.phone}) as line {first}."
            read.append((line, cells, clean))
        return read

    def handle(self, read: list[Read]) -> dict[str, int | None]:
        """Write one chunk; its counts, and the line the quota stopped at (None when it did not)."""
        refusals: list[tuple[int, str, str]] = []
        existing = writing.existing_phones([c.phone for _l, _c, c in read if isinstance(c, Clean)])
        writes: list[Clean] = []
        handled, stopped_at, new = 0, None, 0
        for line, cells, clean in read:
            if isinstance(clean, Clean) and clean.phone in existing and not self.update:
                clean = f"{clean.phone} is already a contact (this import creates new contacts only)."
            if isinstance(clean, Clean) and clean.phone not in existing:
                if new >= self.left:
                    stopped_at = line
                    break
                new += 1
            handled += 1
            if isinstance(clean, str):
                refusals.append((line, reading.raw_line(cells, self.delimiter), clean))
            else:
                writes.append(clean)
        written = writing.write_contacts(writes, update=self.update)
        created = sum(1 for c in writes if c.phone in written and c.phone not in existing)
        updated = sum(1 for c in writes if c.phone in written and c.phone in existing)
        for clean in writes:
            if clean.phone not in written:  # became a contact meanwhile, and this import only creates
                refusals.append((clean.line, "", f"{clean.phone} is already a contact (added meanwhile)."))
        self._announce(writes, written, existing)
        self._tag(writes, written)
        writing.write_refusals(self.item_id, refusals)
        self.left -= created
        return {"handled": handled, "created": created, "updated": updated, "errors": len(refusals),
                "stopped_at": stopped_at}

    def _tag(self, writes: list[Clean], written: dict[str, int]) -> None:
        names = {name for clean in writes for name in clean.tag_names}
        by_name = writing.tag_ids_by_name(names)
        pairs = {(written[c.phone], tag_id) for c in writes if c.phone in written
                 for tag_id in (*self.chosen_tags, *(by_name[n] for n in c.tag_names if n in by_name))}
        # Creating only, every contact written is new in this transaction: its links need no conflict check.
        linked = writing.link_tags(pairs, fresh=not self.update)
        names = {tag_id: name for name, tag_id in by_name.items()}
        names.update(writing.tag_names(set(self.chosen_tags) - set(names)))
        events.emit_many(events.TAG_ADDED, [{"contact_id": contact_id, "subject_id": tag_id,
                                             "data": {"tag": names.get(tag_id)}} for contact_id, tag_id in linked])

    def _announce(self, writes: list[Clean], written: dict[str, int], existing: dict[str, int]) -> None:
        """contact.created for each new contact and contact.updated for each one the file changed."""
        events.emit_many(events.CONTACT_CREATED, [{"contact_id": written[c.phone], "data": {"source": "import"}}
                                                  for c in writes if c.phone in written and c.phone not in existing])
        events.emit_many(events.CONTACT_UPDATED, [{"contact_id": written[c.phone], "data": {"fields": self.fields}}
                                                  for c in writes if c.phone in written and c.phone in existing])


def _set(import_id: int, *where, **values) -> int:
    """UPDATE the import row (scoped to the tenant); how many rows matched."""
    stmt = (update(ContactImport).where(ContactImport.id == import_id, *where).values(**values)
            .execution_options(synchronize_session=False))
    return db.session.execute(stmt).rowcount


def run(import_id: int) -> str:
    """Work through an import for up to RUN_SECONDS: "more" (queue the next run), "finished" or "superseded"."""
    item = db.session.get(ContactImport, import_id)
    if item is None or item.state not in LIVE:
        return "superseded"
    if item.attempts >= MAX_ATTEMPTS:
        line = f"after row {item.rows_done:,}" if item.rows_done else "at the first row"
        finish(import_id, ImportState.FAILED, f"The import stopped {line} and did not get further in "
                                              f"{item.attempts} tries{': ' + item.error if item.error else ''}. "
                                              f"Rows before that point were imported.")
        return "finished"
    _set(import_id, state=ImportState.RUNNING, attempts=item.attempts + 1, started_at=item.started_at or utcnow())
    db.session.commit()
    try:
        work = _Run(item, db.session.get(Tenant, current_tenant_id()).default_region)
    except BadMapping as exc:
        finish(import_id, ImportState.FAILED, str(exc))
        return "finished"
    began = time.monotonic()
    with _read_ahead(work.read_chunk) as chunks:
        for read in chunks:
            # Claim the chunk first: the row lock makes a second run of the same import wait, then find it moved on.
            if not _set(import_id, ContactImport.rows_done == work.position,
                        ContactImport.state == ImportState.RUNNING, rows_done=work.position + len(read)):
                db.session.rollback()
                return "superseded"
            counts = work.handle(read)
            work.position += counts["handled"]
            _set(import_id, rows_done=work.position, attempts=0, error=None,
                 created=ContactImport.created + counts["created"],
                 updated=ContactImport.updated + counts["updated"], errors=ContactImport.errors + counts["errors"])
            db.session.commit()
            if counts["stopped_at"] is not None:
                finish(import_id, ImportState.STOPPED, _quota_message(counts["stopped_at"], work.limit))
                return "finished"
            if time.monotonic() - began > RUN_SECONDS:
                return "more"
    finish(import_id, ImportState.DONE, None)
    return "finished"


@contextmanager
def _read_ahead(read_chunk: Callable[[], list[Read]]) -> Iterator[Iterator[list[Read]]]:
    """The chunks `read_chunk` gives until an empty one, each read in a thread while the one before is written.

    Reading is Python work (phone validation mostly) and writing mostly waits on PostgreSQL, which releases the
    interpreter: overlapped, they take the longer of the two rather than their sum. Chunks are still read one
    at a time and in order, so the phones seen and the lines reported are the same.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contact-import-read")
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(HAND_OVER_SECONDS)

    def chunks() -> Iterator[list[Read]]:
        pending = pool.submit(read_chunk)
        while read := pending.result():
            pending = pool.submit(read_chunk)
            yield read

    try:
        yield chunks()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        sys.setswitchinterval(switch_interval)


def _quota_message(line: int, limit: int) -> str:
    return (f"Stopped at line {line:,}: this workspace reached its limit of {limit:,} contacts. Rows from line "
            f"{line:,} on were not imported; delete some contacts or ask support for a higher limit, then import "
            f"the rest.")


def finish(import_id: int, state: ImportState, error: str | None) -> None:
    """Mark the import finished (done, stopped at the quota, or failed with why) and commit."""
    _set(import_id, state=state, error=error, finished_at=utcnow())
    db.session.commit()


def record_failure(import_id: int, error: str) -> None:
    """Keep why a run broke on the import (the sweep tries again, and reports it if it gives up)."""
    db.session.rollback()
    _set(import_id, ContactImport.state.in_(LIVE), error=error[:2000])
    db.session.commit()


def touch(import_id: int) -> None:
    """Note that the import was looked after now (its row's updated_at)."""
    _set(import_id, updated_at=utcnow())


def stalled_criteria(now=None) -> tuple:
    """Imports queued or running whose row has not moved for STALL_AFTER: their job was lost or their worker died."""
    return ContactImport.state.in_(LIVE), ContactImport.updated_at < (now or utcnow()) - STALL_AFTER
