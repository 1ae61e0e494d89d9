"""Deal figures for analytics: the open pipeline's value by stage and the value won per day, per currency.

Amounts stay in minor units (exact); the charts get major units, the tables the formatted amounts. Run in a
workspace's scope these are its own deals; run by admin code without a scope, every workspace's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, select

from extensions import db
from models import Deal, DealHistory, Pipeline, Stage, StageOutcome
from services.analytics import Range, Series, as_date, utc_day
from services.deals.money import exponent, format_minor


def _major(values: list[int], currency: str) -> list[float]:
    return [float(Decimal(v).scaleb(-exponent(currency))) for v in values]


def _cells(minor: dict[str, list[int]]) -> dict[str, list[str]]:
    return {currency: [format_minor(v, currency, code=False) for v in values] for currency, values in minor.items()}


@dataclass
class WonValue(Series):
    """Value won per day, one series per currency (`minor` exact; `series` in major units for the chart)."""

    minor: dict[str, list[int]] = field(default_factory=dict)

    @property
    def cells(self) -> dict[str, list[str]]:
        """The table's formatted amounts per currency."""
        return _cells(self.minor)


@dataclass
class StageValues:
    """Open deals per stage (in pipeline and stage order): their count and value per currency."""

    labels: list[str]
    counts: list[int]
    minor: dict[str, list[int]] = field(default_factory=dict)

    @property
    def cells(self) -> dict[str, list[str]]:
        """The table's formatted amounts per currency."""
        return _cells(self.minor)

    def as_chart(self) -> dict:
        """Bars for static/js/charts.js: x is the stage's position, `categories` names it."""
        return {"categories": self.labels, "x": list(range(len(self.labels))),
                "series": [{"label": c, "values": _major(v, c)} for c, v in self.minor.items()]}


def won_value(span: Range) -> WonValue:
    """Per day of the range: the value of deals won that day. A deal counts if its stage is a won one, on the
    day it last entered that stage (its history), not `closed_at`: a lost deal later won keeps its first close.
    """
    won_at = (select(DealHistory.deal_id, func.max(DealHistory.created_at).label("at"))
              .join(Deal, and_(Deal.id == DealHistory.deal_id, Deal.stage_id == DealHistory.to_stage_id))
              .join(Stage, Stage.id == Deal.stage_id).where(Stage.outcome == StageOutcome.WON)
              .group_by(DealHistory.deal_id).subquery())
    day = utc_day(won_at.c.at)
    rows = db.session.execute(
        select(day, Deal.currency, func.sum(Deal.value_minor)).join(won_at, won_at.c.deal_id == Deal.id)
        .where(won_at.c.at >= span.start, won_at.c.at < span.end)
        .group_by(day, Deal.currency).order_by(Deal.currency))
    labels = [d.isoformat() for d in span.days]
    index = {d: n for n, d in enumerate(labels)}
    minor: dict[str, list[int]] = {}
    for raw_day, currency, value in rows:
        position = index.get(as_date(raw_day).isoformat())
        if position is not None:
            minor.setdefault(currency, [0] * len(labels))[position] += int(value or 0)
    return WonValue(labels, {c: _major(v, c) for c, v in minor.items()}, minor)


def pipeline_value_by_stage() -> StageValues:
    """Every open stage of every pipeline with the count and value of the deals open in it now."""
    stages = db.session.execute(
        select(Stage.id, Stage.name, Pipeline.name).join(Pipeline, Pipeline.id == Stage.pipeline_id)
        .where(Stage.outcome == StageOutcome.OPEN).order_by(Pipeline.position, Pipeline.id, Stage.position)).all()
    several = len({pipeline for _id, _name, pipeline in stages}) > 1
    labels = [f"{pipeline}: {name}" if several else name for _id, name, pipeline in stages]
    index = {stage_id: n for n, (stage_id, _name, _pipeline) in enumerate(stages)}
    counts = [0] * len(stages)
    minor: dict[str, list[int]] = {}
    rows = db.session.execute(
        select(Deal.stage_id, Deal.currency, func.count(Deal.id), func.sum(Deal.value_minor))
        .where(Deal.closed_at.is_(None)).group_by(Deal.stage_id, Deal.currency).order_by(Deal.currency))
    for stage_id, currency, number, value in rows:
        position = index.get(stage_id)
        if position is not None:
            counts[position] += int(number)
            minor.setdefault(currency, [0] * len(stages))[position] += int(value or 0)
    return StageValues(labels, counts, minor)
