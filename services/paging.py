"""Pages of a list without an exact count of the whole list: counting 100,000 rows on every view costs more
than showing them. The count stops at COUNT_CAP; past it the page says "more than" and offers Next.

Pages are numbered only while OFFSET skips at most NUMBERED_ROWS rows, which stays cheap. Deeper than that,
Next and Previous carry a cursor: the sort key of the row the page starts after (or before), so a page
4,000 deep costs what the first one does (keyset paging). A cursor holds only a position in the sort
order; the query it feeds is scoped to the workspace like any other, so a cursor made in another workspace
shows this workspace's rows from that position and nothing else.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_

from extensions import db

COUNT_CAP = 1000
MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases
NUMBERED_ROWS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# "<microseconds since 1970 UTC>_<id>": short, URL-safe and exact to the microsecond both databases keep.
_CURSOR = re.compile(r"(\d{1,17})_(\d{1,18})")


class BadCursor(ValueError):
    """A paging cursor that is not one this module wrote."""


@dataclass(frozen=True)
class Cursor:
    """A position in a (timestamp, id) descending order: the page starts after it (or ends before it)."""

    at: datetime
    id: int

    def token(self) -> str:
        """The cursor as it goes in a URL."""
        delta = self.at.astimezone(UTC) - _EPOCH
        return f"{delta // timedelta(microseconds=1)}_{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """Read a token written by `token`; raises BadCursor for anything else."""
        match = _CURSOR.fullmatch(token or "")
        if match is None:
            raise BadCursor(token)
        return cls(_EPOCH + timedelta(microseconds=int(match[1])), int(match[2]))


@dataclass(frozen=True)
class Page:
    """One page of rows and what is known about the rest."""

    items: list[Any]
    page: int | None          # None on a page reached by cursor (deeper than the numbered pages)
    per_page: int
    has_next: bool
    total: int | None        # exact up to COUNT_CAP, None past it
    cap: int = COUNT_CAP
    has_prev: bool = False
    next_cursor: str | None = None   # set when Next goes by cursor instead of by number
    prev_cursor: str | None = None   # set when Previous goes by cursor instead of by number

    @property
    def prev_num(self) -> int | None:
        return None if self.page is None else self.page - 1

    @property
    def next_num(self) -> int | None:
        return None if self.page is None else self.page + 1

    @property
    def pages(self) -> int | None:
        """How many pages there are, when the count is exact."""
        if self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))


def last_numbered_page(per_page: int) -> int:
    """The deepest page reached by number: OFFSET never skips more than NUMBERED_ROWS rows."""
    return max(1, NUMBERED_ROWS // per_page)


def capped_count(stmt: Select, cap: int | None = None) -> int:
    """How many rows `stmt` has, counting no further than `cap` + 1."""
    cap = COUNT_CAP if cap is None else cap
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(cap + 1).subquery()))


def capped_page(stmt: Select, page: int, per_page: int, cap: int | None = None, counted: int | None = None,
                keys: tuple[ColumnElement, ColumnElement] | None = None,
                count: Callable[[], int] | None = None) -> Page:
    """Rows `page` of `stmt` (one extra row tells whether a next page exists) and a count capped at `cap`.

    With `keys` (the (timestamp, id) columns `stmt` sorts by, descending), Next from the last numbered
    page carries a cursor instead of a page number. `counted` is a capped_count the caller already made;
    otherwise `count` (or a capped_count of `stmt`) runs, unless the page shows where the rows end: a search
    matching a few contacts then costs one query, not two.
    """
    cap = COUNT_CAP if cap is None else cap
    page = max(1, page)
    offset = (page - 1) * per_page
    rows = db.session.scalars(stmt.limit(per_page + 1).offset(offset)).all()
    if counted is None:
        shows_the_end = len(rows) <= per_page and (rows or page == 1)
        counted = offset + len(rows) if shows_the_end else count() if count else capped_count(stmt, cap)
    items, has_next = list(rows[:per_page]), len(rows) > per_page
    by_cursor = keys is not None and has_next and page >= last_numbered_page(per_page)
    return Page(items=items, page=page, per_page=per_page, has_next=has_next,
                total=counted if counted <= cap else None, cap=cap, has_prev=page > 1,
                next_cursor=_cursor_of(items[-1], keys) if by_cursor else None)


def seek_page(stmt: Select, keys: tuple[ColumnElement, ColumnElement], cursor: Cursor, per_page: int, *,
              before: bool = False, counted: int, cap: int | None = None) -> Page | None:
    """The page of `stmt` (sorted by `keys` descending) just after `cursor`, or just before it with `before`.

    Returns None when a page before `cursor` reaches the start of the list: the caller shows page 1.
    """
    cap = COUNT_CAP if cap is None else cap
    position = tuple_(*keys)
    if before:
        # Walk back up the order (ascending) from the cursor, then show those rows in the list's order.
        stmt = stmt.order_by(None).where(position > (cursor.at, cursor.id)).order_by(*keys)
    else:
        stmt = stmt.where(position < (cursor.at, cursor.id))
    rows = db.session.scalars(stmt.limit(per_page + 1)).all()
    more = len(rows) > per_page
    items = list(rows[:per_page])
    if before:
        if not more:
            return None
        items.reverse()
    total = counted if counted <= cap else None
    return Page(items=items, page=None, per_page=per_page, total=total, cap=cap,
                has_next=True if before else more, has_prev=more if before else bool(items),
                next_cursor=_cursor_of(items[-1], keys) if items and (before or more) else None,
                prev_cursor=_cursor_of(items[0], keys) if items else None)


def _cursor_of(row: Any, keys: tuple[ColumnElement, ColumnElement] | None) -> str | None:
    if keys is None:
        return None
    return Cursor(*(getattr(row, key.key) for key in keys)).token()


def keyset_page(stmt: Select, keys: tuple[ColumnElement, ColumnElement], cursor: str | None,
                per_page: int) -> tuple[list[Any], str | None]:
    """Rows of `stmt` (sorted by `keys` descending) after the cursor token, and the next page's token (or None).

    Pure cursor paging for API clients: no count and no page numbers. Raises BadCursor for a token not made here.
    """
    if cursor:
        position = Cursor.parse(cursor)
        if position.id > MAX_ID:  # no row has it, and the database would refuse the comparison
            raise BadCursor(cursor)
        stmt = stmt.where(tuple_(*keys) < (position.at, position.id))
    rows = db.session.scalars(stmt.limit(per_page + 1)).all()
    items = list(rows[:per_page])
    return items, (_cursor_of(items[-1], keys) if len(rows) > per_page else None)
