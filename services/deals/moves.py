"""Moving a deal: to another stage or place in a column, with its history entry and its domain event."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from extensions import db
from models import Deal, DealHistory, Stage
from models.base import utcnow
from services import events
from services.errors import Invalid


def closed_at_for(stage: Stage, closed_at: datetime | None) -> datetime | None:
    """A deal in a won or lost stage is closed (since it first got there); in an open stage it is open."""
    if stage.is_open:
        return None
    return closed_at or utcnow()


def record_stage(deal: Deal, old: Stage | None, new: Stage, user_id: int | None) -> None:
    """The history entry and the after-commit event for a deal entering `new` (from `old`, None when created)."""
    db.session.add(DealHistory(deal_id=deal.id, from_stage_id=old.id if old else None, to_stage_id=new.id,
                               from_stage_name=old.name if old else None, to_stage_name=new.name, user_id=user_id))
    events.emit(events.DEAL_STAGE_CHANGED, contact_id=deal.contact_id, subject_id=deal.id,
                data={"pipeline_id": deal.pipeline_id, "from_stage_id": old.id if old else None,
                      "to_stage_id": new.id, "user_id": user_id})


def column_ids(stage_id: int, *, excluding: int | None = None) -> list[int]:
    """Ids of the deals in a stage's column, top to bottom."""
    stmt = select(Deal.id).where(Deal.stage_id == stage_id).order_by(Deal.position, Deal.id)
    if excluding is not None:
        stmt = stmt.where(Deal.id != excluding)
    return list(db.session.scalars(stmt))


def _renumber(stage_id: int, ids: list[int]) -> None:
    """Positions 0..n-1 in the order given; only rows whose position changes are written."""
    current = dict(db.session.execute(select(Deal.id, Deal.position).where(Deal.stage_id == stage_id,
                                                                           Deal.id.in_(ids))).all())
    changed = [{"id": deal_id, "position": position} for position, deal_id in enumerate(ids)
               if current.get(deal_id) != position]
    for row in changed:
        # A scoped ORM UPDATE per moved row: a drop inside a column touches only the rows between the two places.
        db.session.execute(update(Deal).where(Deal.id == row["id"]).values(position=row["position"])
                           .execution_options(synchronize_session=False))


def move_deal(deal: Deal, stage_id: int | None, index: int | None = None, *, user_id: int | None = None) -> Stage:
    """Put `deal` in stage `stage_id` (of its pipeline) at `index` in the column (None: on top) (flushes).

    On top, because the board shows only the top of a long column: a deal just moved stays in sight.

    Returns the stage. A stage of another pipeline or workspace is refused, like one that does not exist.
    """
    stage = db.session.scalar(select(Stage).where(Stage.id == stage_id)) if stage_id is not None else None
    if stage is None or stage.pipeline_id != deal.pipeline_id:
        raise Invalid({"stage_id": "Choose one of this pipeline's stages."})
    if index is not None and index < 0:
        raise Invalid({"position": "The position must be zero or more."})
    old = db.session.scalar(select(Stage).where(Stage.id == deal.stage_id)) if deal.stage_id != stage.id else None
    ids = column_ids(stage.id, excluding=deal.id)
    ids.insert(0 if index is None else min(index, len(ids)), deal.id)
    if old is not None:
        deal.stage_id = stage.id
        deal.closed_at = closed_at_for(stage, deal.closed_at)
        db.session.flush()
        record_stage(deal, old, stage, user_id)
    _renumber(stage.id, ids)
    db.session.flush()
    db.session.refresh(deal, ["position"])
    return stage
