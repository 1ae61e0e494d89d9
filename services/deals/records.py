"""Creating, editing and deleting deals."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update

from extensions import db
from models import Contact, Deal, Note, Pipeline, Stage
from services.deals.money import clean_currency, parse_value
from services.deals.moves import closed_at_for, record_stage
from services.errors import Invalid


@dataclass
class DealInput:
    """What the deal forms carry, as typed."""

    title: str
    contact_id: int | None
    stage_id: int | None
    value: str = ""
    currency: str = "USD"
    expected_close_on: date | None = None


def _clean(data: DealInput, deal: Deal | None) -> tuple[dict, Stage | None, Contact | None]:
    errors: dict[str, str] = {}
    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = "Enter a title for the deal."
    elif len(title) > Deal.TITLE_MAX:
        errors["title"] = f"Keep the title under {Deal.TITLE_MAX} characters."
    contact = (db.session.scalar(select(Contact).where(Contact.id == data.contact_id))
               if data.contact_id is not None else None)
    if contact is None:
        errors["contact_id"] = "Choose one of your contacts."
    stage = db.session.scalar(select(Stage).where(Stage.id == data.stage_id)) if data.stage_id is not None else None
    if stage is None or (deal is not None and stage.pipeline_id != deal.pipeline_id):
        errors["stage_id"] = "Choose one of the pipeline's stages."
    currency = value = None
    try:
        currency = clean_currency(data.currency)
        value = parse_value(data.value, currency)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return {"title": title, "currency": currency, "value_minor": value,
            "expected_close_on": data.expected_close_on}, stage, contact


def _top_of(stage_id: int) -> int:
    """A position above every deal of the column (positions only order; the next move renumbers them)."""
    return (db.session.scalar(select(func.min(Deal.position)).where(Deal.stage_id == stage_id)) or 0) - 1


def create_deal(data: DealInput, *, user_id: int | None = None) -> Deal:
    """A new deal on top of its stage's column (where the board shows it), with its first history entry (flushes)."""
    fields, stage, contact = _clean(data, None)
    pipeline = db.session.scalar(select(Pipeline).where(Pipeline.id == stage.pipeline_id))
    deal = Deal(**fields, contact_id=contact.id, pipeline_id=pipeline.id, stage_id=stage.id,
                position=_top_of(stage.id), owner_id=user_id, created_by_id=user_id,
                closed_at=closed_at_for(stage, None))
    db.session.add(deal)
    db.session.flush()
    record_stage(deal, None, stage, user_id)
    db.session.flush()
    return deal


def update_deal(deal: Deal, data: DealInput, *, user_id: int | None = None) -> Deal:
    """Change a deal's details; a new stage is a move to the top of that column (flushes)."""
    from services.deals.moves import move_deal

    fields, stage, contact = _clean(data, deal)
    for name, value in fields.items():
        setattr(deal, name, value)
    deal.contact_id = contact.id
    db.session.flush()
    if stage.id != deal.stage_id:
        move_deal(deal, stage.id, None, user_id=user_id)
    return deal


def delete_deal(deal: Deal) -> None:
    """Delete a deal with its history and tasks; notes about it stay on the contact's timeline (flushes)."""
    db.session.execute(update(Note).where(Note.deal_id == deal.id).values(deal_id=None)
                       .execution_options(synchronize_session=False))
    db.session.delete(deal)
    db.session.flush()
