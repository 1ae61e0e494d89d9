"""The deals list as CSV, row by row, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import Select, func, select

from extensions import db
from models import Pipeline
from services.audit import record
from services.deals.money import plain_minor

HEADER = ("id", "title", "contact", "stage", "status", "value", "currency", "expected_close", "created_at",
          "closed_at")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500


def safe_cell(value) -> str:
    """The cell as text; one a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _line(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def record_export(pipeline: Pipeline, rows: Select, filters: dict[str, str]) -> int:
    """Write the "deals.exported" audit entry (pipeline, filters, row count) before the CSV streams; the count."""
    count = db.session.scalar(select(func.count()).select_from(rows.order_by(None).subquery())) or 0
    record("deals.exported", target=pipeline, changes={"pipeline": pipeline.name, "rows": count, "filters": filters})
    return count


def csv_lines(rows: Select) -> Iterator[str]:
    """The header, then one line per (Deal, contact name, Stage) row, fetched in batches (stream it)."""
    yield _line(HEADER)
    result = db.session.execute(rows.execution_options(yield_per=BATCH))
    for deal, contact_name, stage in result:
        status = "open" if deal.closed_at is None else stage.outcome
        yield _line((deal.id, deal.title, contact_name, stage.name, status,
                     plain_minor(deal.value_minor, deal.currency), deal.currency,
                     deal.expected_close_on.isoformat() if deal.expected_close_on else "",
                     deal.created_at.isoformat(), deal.closed_at.isoformat() if deal.closed_at else ""))
