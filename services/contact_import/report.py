"""An import's report: its refused rows on the page, and all of them as a CSV to fix and import again."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from extensions import db
from models import ContactImport, ImportRowError
from services.deals.export import safe_cell

HEADER = ("line", "reason", "row")
BATCH = 1000


def refused_rows(item: ContactImport, limit: int | None = None) -> list[ImportRowError]:
    """The import's refused rows in file order (the first `limit` of them)."""
    stmt = select(ImportRowError).where(ImportRowError.import_id == item.id).order_by(ImportRowError.line,
                                                                                      ImportRowError.id)
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def errors_csv_lines(import_id: int) -> Iterator[str]:
    """The header, then each refused row (line, reason, the row as it was), fetched in batches (stream it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    stmt = (select(ImportRowError.line, ImportRowError.reason, ImportRowError.raw)
            .where(ImportRowError.import_id == import_id).order_by(ImportRowError.line, ImportRowError.id))
    for batch in db.session.execute(stmt.execution_options(yield_per=BATCH)).partitions():
        for line, reason, raw in batch:
            writer.writerow((line, safe_cell(reason), safe_cell(raw)))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
