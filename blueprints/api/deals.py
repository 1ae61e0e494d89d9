"""/api/v1/pipelines and deals: the stages, the deals of a pipeline, a new deal, a deal moved to another stage."""
from __future__ import annotations

from datetime import date, datetime

from flask import request
from pydantic import BaseModel, Field

from blueprints.api.blueprint import operation, path_model, path_object
from blueprints.api.schemas import DbId
from extensions import db
from models import Deal
from services.deals import (
    DealFilter,
    DealInput,
    all_pipelines,
    create_deal,
    deal_rows,
    move_deal,
    pipeline_or_default,
    plain_minor,
    stages_of,
)
from services.paging import capped_page, last_numbered_page

path_model("deal_id", Deal)
TAG = "Deals"
DB_INT = None


class StageOut(BaseModel):
    """A stage of a pipeline, in board order."""

    id: int
    name: str
    outcome: str = Field(description="open, won or lost")


class PipelineOut(BaseModel):
    """A pipeline with its stages."""

    id: int
    name: str
    stages: list[StageOut]


class PipelineList(BaseModel):
    """The workspace's pipelines (the first is the default)."""

    items: list[PipelineOut]


class DealQuery(BaseModel):
    """Which deals: of a pipeline (default: the first), optionally of a contact, a contact's tag, a stage."""

    pipeline_id: DbId | None = None
    contact_id: DbId | None = None
    tag_id: DbId | None = None
    stage_id: DbId | None = None
    page: int = Field(1, ge=1, le=last_numbered_page(100))
    limit: int = Field(25, ge=1, le=100)


class DealOut(BaseModel):
    """A deal."""

    id: int
    title: str
    contact_id: int
    pipeline_id: int
    stage_id: int
    value: str = Field(description="Decimal amount in the currency, e.g. \"1250.00\"")
    currency: str
    expected_close_on: date | None
    closed_at: datetime | None
    created_at: datetime


class DealList(BaseModel):
    """A page of deals, newest first."""

    items: list[DealOut]
    next_page: int | None


class DealCreate(BaseModel):
    """A new deal for a contact, in a stage (of any pipeline)."""

    title: str = Field(max_length=Deal.TITLE_MAX)
    contact_id: DbId
    stage_id: DbId
    value: str = Field("", max_length=20, description="Decimal amount, e.g. \"1250.00\"")
    currency: str = Field("USD", max_length=3)
    expected_close_on: date | None = None


class DealMove(BaseModel):
    """The stage (of the deal's pipeline) to move it to, and where in that column (default: on top)."""

    stage_id: DbId
    position: int | None = Field(None, ge=0, le=100_000)


def deal_out(deal: Deal) -> DealOut:
    """A deal as the API shows it."""
    return DealOut(id=deal.id, title=deal.title, contact_id=deal.contact_id, pipeline_id=deal.pipeline_id,
                   stage_id=deal.stage_id, value=plain_minor(deal.value_minor, deal.currency), currency=deal.currency,
                   expected_close_on=deal.expected_close_on, closed_at=deal.closed_at, created_at=deal.created_at)


@operation("/pipelines", tag=TAG, ok=PipelineList)
def list_pipelines():
    """Pipelines and their stages (stage ids are what deals are created in and moved to)."""
    pipelines = all_pipelines()
    db.session.commit()  # a workspace's first look at deals makes its default pipeline
    return PipelineList(items=[
        PipelineOut(id=p.id, name=p.name, stages=[StageOut(id=s.id, name=s.name, outcome=s.outcome)
                                                  for s in stages_of(p)]) for p in pipelines])


@operation("/deals", tag=TAG, query=DealQuery, ok=DealList)
def list_deals():
    """A pipeline's deals, newest first."""
    query: DealQuery = request.context.query
    pipeline = pipeline_or_default(query.pipeline_id)
    if pipeline is None:
        return DealList(items=[], next_page=None)  # not one of this workspace's pipelines
    db.session.commit()  # a workspace's first look at deals makes its default pipeline
    rows = deal_rows(pipeline, DealFilter(contact_id=query.contact_id, tag_id=query.tag_id, stage_id=query.stage_id))
    page = capped_page(rows, query.page, query.limit)
    more = page.has_next and page.page < last_numbered_page(query.limit)
    return DealList(items=[deal_out(d) for d in page.items], next_page=page.next_num if more else None)


@operation("/deals", "POST", tag=TAG, body=DealCreate, ok=DealOut, status=201)
def create_deal_view():
    """Create a deal on top of its stage."""
    data: DealCreate = request.context.json
    deal = create_deal(DealInput(title=data.title, contact_id=data.contact_id, stage_id=data.stage_id,
                                 value=data.value, currency=data.currency, expected_close_on=data.expected_close_on))
    db.session.commit()
    return deal_out(deal), 201


@operation("/deals/<int:deal_id>", tag=TAG, ok=DealOut)
def get_deal(deal_id: int):
    """One deal."""
    return deal_out(path_object("deal_id"))


@operation("/deals/<int:deal_id>/move", "POST", tag=TAG, body=DealMove, ok=DealOut)
def move_deal_view(deal_id: int):
    """Move a deal to a stage of its pipeline (recorded in its history)."""
    deal = path_object("deal_id")
    data: DealMove = request.context.json
    move_deal(deal, data.stage_id, data.position)
    db.session.commit()
    db.session.refresh(deal)
    return deal_out(deal)

