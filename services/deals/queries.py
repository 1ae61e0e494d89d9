"""Reading deals: the board's columns and totals, the sortable list and its CSV, a contact's deals, filters."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, select

from extensions import db
from models import Contact, ContactTag, Deal, DealHistory, Pipeline, Stage
from services.errors import Invalid

CARDS_PER_COLUMN = 50  # a column shows its top cards (the list shows the rest); its total counts every deal


@dataclass(frozen=True)
class DealFilter:
    """The board's and list's filters: a contact, a tag of the contact, a month of the expected close date."""

    contact_id: int | None = None
    tag_id: int | None = None
    month: str = ""  # "YYYY-MM"
    stage_id: int | None = None  # the list only: "the rest of this column"

    def criteria(self) -> list:
        """SQL criteria on Deal; a month that is not YYYY-MM is refused."""
        found = []
        if self.contact_id is not None:
            found.append(Deal.contact_id == self.contact_id)
        if self.tag_id is not None:
            found.append(select(ContactTag.id).where(ContactTag.contact_id == Deal.contact_id,
                                                     ContactTag.tag_id == self.tag_id).exists())
        if self.stage_id is not None:
            found.append(Deal.stage_id == self.stage_id)
        if self.month:
            first, last = month_bounds(self.month)
            found.append(Deal.expected_close_on.between(first, last))
        return found

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments (links and the move requests carry it)."""
        args = {"contact": self.contact_id, "tag": self.tag_id, "month": self.month, "stage": self.stage_id}
        return {k: str(v) for k, v in args.items() if v not in (None, "")}


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-03' -> (2026-03-01, 2026-03-31); Invalid on `month` otherwise."""
    try:
        year, number = (int(part) for part in month.split("-"))
        return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])
    except (ValueError, TypeError):
        raise Invalid({"month": "Choose a month like 2026-03."}) from None


@dataclass
class Total:
    """A stage's deal count and value per currency."""

    count: int = 0
    values: dict[str, int] = field(default_factory=dict)


def stage_totals(pipeline: Pipeline, deal_filter: DealFilter) -> dict[int, Total]:
    """Count and value per currency of every stage of the pipeline, in one grouped statement."""
    rows = db.session.execute(
        select(Deal.stage_id, Deal.currency, func.count(Deal.id), func.coalesce(func.sum(Deal.value_minor), 0))
        .where(Deal.pipeline_id == pipeline.id, *deal_filter.criteria())
        .group_by(Deal.stage_id, Deal.currency).order_by(Deal.currency))
    totals: dict[int, Total] = {}
    for stage_id, currency, count, value in rows:
        total = totals.setdefault(stage_id, Total())
        total.count += int(count)
        total.values[currency] = int(value)
    return totals


def board_columns(pipeline: Pipeline, stages: list[Stage], deal_filter: DealFilter) -> dict[int, list]:
    """Per stage id, its cards as (deal, contact name), top to bottom (one statement for the board)."""
    ranked = (select(Deal.id.label("deal_id"),
                     func.row_number().over(partition_by=Deal.stage_id,
                                            order_by=(Deal.position, Deal.id)).label("rank"))
              .where(Deal.pipeline_id == pipeline.id, *deal_filter.criteria()).subquery())
    rows = db.session.execute(
        select(Deal, Contact.name).join(Contact, Contact.id == Deal.contact_id)
        .join(ranked, ranked.c.deal_id == Deal.id).where(ranked.c.rank <= CARDS_PER_COLUMN)
        .order_by(Deal.stage_id, Deal.position, Deal.id))
    columns: dict[int, list] = {stage.id: [] for stage in stages}
    for deal, contact_name in rows:
        columns.setdefault(deal.stage_id, []).append((deal, contact_name))
    return columns


SORTS = {
    "title": lambda: func.lower(Deal.title),
    "contact": lambda: func.lower(Contact.name),
    "value": lambda: Deal.value_minor,
    "close": lambda: Deal.expected_close_on,
    "stage": lambda: Stage.position,
    "created": lambda: Deal.created_at,
}


def deal_rows(pipeline: Pipeline, deal_filter: DealFilter, sort: str = "created", descending: bool = True) -> Select:
    """SELECT of (Deal, contact name, stage) for the list and the CSV, sorted by one of SORTS."""
    key = SORTS.get(sort, SORTS["created"])()
    order = key.desc() if descending else key.asc()
    return (select(Deal, Contact.name, Stage).join(Contact, Contact.id == Deal.contact_id)
            .join(Stage, Stage.id == Deal.stage_id)
            .where(Deal.pipeline_id == pipeline.id, *deal_filter.criteria())
            .order_by(order, Deal.id.desc() if descending else Deal.id))


def deals_of_contact(contact: Contact, *, only_open: bool = False) -> list[tuple[Deal, Stage]]:
    """The contact's deals with their stages, open ones first, newest first."""
    stmt = (select(Deal, Stage).join(Stage, Stage.id == Deal.stage_id).where(Deal.contact_id == contact.id)
            .order_by(Deal.closed_at.is_not(None), Deal.created_at.desc(), Deal.id.desc()))
    if only_open:
        stmt = stmt.where(Deal.closed_at.is_(None))
    return [tuple(row) for row in db.session.execute(stmt)]


def history_of(deal: Deal) -> list[DealHistory]:
    """The deal's stage changes, oldest first."""
    return list(db.session.scalars(select(DealHistory).where(DealHistory.deal_id == deal.id)
                                   .order_by(DealHistory.created_at, DealHistory.id)))


def contacts_with_deals(pipeline: Pipeline) -> list[tuple[int, str]]:
    """(id, name) of the contacts having deals in the pipeline, for the contact filter."""
    return [tuple(row) for row in db.session.execute(
        select(Contact.id, Contact.name).where(
            select(Deal.id).where(Deal.contact_id == Contact.id, Deal.pipeline_id == pipeline.id).exists())
        .order_by(func.lower(Contact.name)).limit(500))]
