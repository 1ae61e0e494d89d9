"""Pages of a list without an exact count of the whole list: counting 100,000 rows on every view costs more
than showing them. The count stops at COUNT_CAP; past it the page says "more than" and offers Next."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from extensions import db

COUNT_CAP = 1000


@dataclass(frozen=True)
class Page:
    """One page of rows and what is known about the rest."""

    items: list[Any]
    page: int
    per_page: int
    has_next: bool
    total: int | None        # exact up to COUNT_CAP, None past it
    cap: int = COUNT_CAP

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def pages(self) -> int | None:
        """How many pages there are, when the count is exact."""
        if self.total is None:
            return None
        return max(1, -(-self.total // self.per_page))


def capped_page(stmt: Select, page: int, per_page: int, cap: int | None = None) -> Page:
    """Rows `page` of `stmt` (one extra row tells whether a next page exists) and a count capped at `cap`."""
    cap = COUNT_CAP if cap is None else cap
    page = max(1, page)
    rows = db.session.scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)).all()
    counted = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(cap + 1).subquery()))
    return Page(items=list(rows[:per_page]), page=page, per_page=per_page, has_next=len(rows) > per_page,
                total=counted if counted <= cap else None, cap=cap)
