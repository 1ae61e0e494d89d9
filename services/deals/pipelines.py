"""Pipelines and their stages: the default one every workspace gets, adding, renaming, reordering, won/lost."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Deal, Pipeline, Stage, StageOutcome
from services.deals.moves import closed_at_for
from services.errors import Invalid

DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (("New", StageOutcome.OPEN), ("Qualified", StageOutcome.OPEN), ("Proposal", StageOutcome.OPEN),
                  ("Won", StageOutcome.WON), ("Lost", StageOutcome.LOST))
STAGES_MAX = 20
PIPELINES_MAX = 20


def create_default_pipeline() -> Pipeline:
    """The pipeline a new workspace starts with (flushes; the caller commits)."""
    pipeline = Pipeline(name=DEFAULT_PIPELINE, position=0)
    db.session.add(pipeline)
    db.session.flush()
    db.session.add_all([Stage(pipeline_id=pipeline.id, name=name, outcome=outcome, position=position)
                        for position, (name, outcome) in enumerate(DEFAULT_STAGES)])
    db.session.flush()
    return pipeline


def all_pipelines() -> list[Pipeline]:
    """The workspace's pipelines in their order; a workspace without one gets the default (flushes)."""
    pipelines = list(db.session.scalars(select(Pipeline).order_by(Pipeline.position, Pipeline.id)))
    return pipelines or [create_default_pipeline()]


def pipeline_or_default(pipeline_id: int | None) -> Pipeline | None:
    """The pipeline asked for (None when it is not this workspace's), or the first one when none was asked for."""
    if pipeline_id is None:
        return all_pipelines()[0]
    return db.session.scalar(select(Pipeline).where(Pipeline.id == pipeline_id))


def stages_of(pipeline: Pipeline) -> list[Stage]:
    """The pipeline's stages, left to right."""
    return list(db.session.scalars(select(Stage).where(Stage.pipeline_id == pipeline.id)
                                   .order_by(Stage.position, Stage.id)))


def _clean_name(name: str | None, limit: int, what: str) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise Invalid({"name": f"Enter a name for the {what}."})
    if len(clean) > limit:
        raise Invalid({"name": f"Keep the name under {limit} characters."})
    return clean


def _clean_outcome(outcome: str | None) -> str:
    if outcome not in set(StageOutcome):
        raise Invalid({"outcome": "Choose open, won or lost."})
    return outcome


def add_pipeline(name: str) -> Pipeline:
    """A new pipeline with one open stage, "New", so deals can be added to it at once (flushes)."""
    clean = _clean_name(name, Pipeline.NAME_MAX, "pipeline")
    count = db.session.scalar(select(func.count(Pipeline.id)))
    if count >= PIPELINES_MAX:
        raise Invalid({"name": f"A workspace has at most {PIPELINES_MAX} pipelines."})
    if db.session.scalar(select(Pipeline.id).where(func.lower(Pipeline.name) == clean.lower())):
        raise Invalid({"name": f"A pipeline called “{clean}” already exists."})
    pipeline = Pipeline(name=clean, position=count)
    db.session.add(pipeline)
    db.session.flush()
    db.session.add(Stage(pipeline_id=pipeline.id, name="New", outcome=StageOutcome.OPEN, position=0))
    db.session.flush()
    return pipeline


def rename_pipeline(pipeline: Pipeline, name: str) -> None:
    """Rename a pipeline (flushes)."""
    pipeline.name = _clean_name(name, Pipeline.NAME_MAX, "pipeline")
    db.session.flush()


def add_stage(pipeline: Pipeline, name: str, outcome: str = StageOutcome.OPEN) -> Stage:
    """A new stage at the right end of the pipeline (flushes)."""
    errors: dict[str, str] = {}
    try:
        clean = _clean_name(name, Stage.NAME_MAX, "stage")
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        outcome = _clean_outcome(outcome)
    except Invalid as exc:
        errors.update(exc.errors)
    stages = stages_of(pipeline)
    if len(stages) >= STAGES_MAX:
        errors[""] = f"A pipeline has at most {STAGES_MAX} stages."
    if errors:
        raise Invalid(errors)
    stage = Stage(pipeline_id=pipeline.id, name=clean, outcome=outcome, position=len(stages))
    db.session.add(stage)
    db.session.flush()
    return stage


def update_stage(stage: Stage, name: str, outcome: str, *, user_id: int | None = None) -> None:
    """Rename a stage and set whether it is open, won or lost; its deals close or reopen with it (flushes)."""
    errors: dict[str, str] = {}
    try:
        stage.name = _clean_name(name, Stage.NAME_MAX, "stage")
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        outcome = _clean_outcome(outcome)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    if outcome != stage.outcome:
        stage.outcome = outcome
        for deal in db.session.scalars(select(Deal).where(Deal.stage_id == stage.id)):
            deal.closed_at = closed_at_for(stage, deal.closed_at)
    db.session.flush()


def move_stage(stage: Stage, offset: int) -> None:
    """Move a stage one place left (-1) or right (+1) among its pipeline's stages (flushes)."""
    stages = list(db.session.scalars(select(Stage).where(Stage.pipeline_id == stage.pipeline_id)
                                     .order_by(Stage.position, Stage.id)))
    index = next(i for i, s in enumerate(stages) if s.id == stage.id)
    target = index + offset
    if not 0 <= target < len(stages):
        raise Invalid("That stage is already at the end.")
    stages.insert(target, stages.pop(index))
    for position, item in enumerate(stages):
        item.position = position
    db.session.flush()
