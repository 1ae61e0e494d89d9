"""Creating and editing sequences and their steps.

Editing a running sequence is safe by construction: an enrolment always takes the first step (in the
current order) it has not had, and `UNIQUE (enrolment_id, step_id)` on step sends refuses a second
send. So a step appended reaches active enrolments, a removed step is hidden (kept for its figures)
and never sent again, and a reordered step already sent is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select

from extensions import db
from models import DripEnrolment, DripSequence, DripStep, DripStepSend, Tag
from models.base import utcnow
from models.drip import DelayFrom, DelayUnit, EnrolmentState
from services.broadcasts.content import clean_content
from services.drips.completion import announce_completed
from services.drips.timing import plan
from services.errors import Invalid
from services.workspace import workspace_zone

DELAY_MAX = 3650  # in any unit: ten years of days is already more than any sequence needs
REPLAN_BATCH = 1000


@dataclass
class SequenceInput:
    """The sequence form's fields, already parsed."""

    name: str
    auto_enrol: bool = False
    auto_enrol_tag_id: int | None = None
    allow_reenrol: bool = False
    exit_on_reply: bool = True
    exit_tag_id: int | None = None
    window_days: list[int] = field(default_factory=list)
    window_start: time | None = None
    window_end: time | None = None


def _tag_exists(tag_id: int | None) -> bool:
    return tag_id is not None and db.session.scalar(select(Tag.id).where(Tag.id == tag_id)) is not None


def save_sequence(data: SequenceInput, sequence: DripSequence | None = None,
                  created_by_id: int | None = None) -> DripSequence:
    """Create or change a sequence's settings (flushes); Invalid with a message per field."""
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter a name for the sequence."
    elif len(name) > DripSequence.NAME_MAX:
        errors["name"] = f"Keep the name under {DripSequence.NAME_MAX} characters."
    if data.auto_enrol_tag_id is not None and not _tag_exists(data.auto_enrol_tag_id):
        errors["auto_enrol_tag_id"] = "Choose one of your tags."
    elif data.auto_enrol and data.auto_enrol_tag_id is None:
        errors["auto_enrol_tag_id"] = "Choose the tag that enrols contacts."
    if data.exit_tag_id is not None and not _tag_exists(data.exit_tag_id):
        errors["exit_tag_id"] = "Choose one of your tags."
    elif data.exit_tag_id is not None and data.exit_tag_id == data.auto_enrol_tag_id:
        errors["exit_tag_id"] = "The exit tag must differ from the tag that enrols."
    days = sorted({int(d) for d in data.window_days if 0 <= int(d) <= 6})
    if days and (data.window_start is None or data.window_end is None):
        errors["window_start"] = "Enter the hours the window opens and closes."
    elif days and data.window_start >= data.window_end:
        errors["window_start"] = "The window must open before it closes (on the same day)."
    elif not days and (data.window_start or data.window_end):
        errors["window_days"] = "Choose the days the window is open."
    if errors:
        raise Invalid(errors)
    creating = sequence is None
    sequence = sequence or DripSequence(created_by_id=created_by_id)
    sequence.name, sequence.auto_enrol = name, bool(data.auto_enrol)
    sequence.auto_enrol_tag_id, sequence.exit_tag_id = data.auto_enrol_tag_id, data.exit_tag_id
    sequence.allow_reenrol, sequence.exit_on_reply = bool(data.allow_reenrol), bool(data.exit_on_reply)
    sequence.window_days = ",".join(map(str, days)) or None
    sequence.window_start = data.window_start if days else None
    sequence.window_end = data.window_end if days else None
    db.session.add(sequence)
    db.session.flush()
    if not creating:
        replan(sequence)  # a new window moves the times enrolments wait for
    return sequence


def active_steps(sequence_id: int) -> list[DripStep]:
    """The sequence's steps in order (removed ones left out)."""
    return list(db.session.scalars(select(DripStep).where(DripStep.sequence_id == sequence_id,
                                                          DripStep.removed_at.is_(None))
                                   .order_by(DripStep.position, DripStep.id)))


def save_step(sequence: DripSequence, data: dict[str, Any], step: DripStep | None = None) -> DripStep:
    """Add a step at the end or change one (flushes).

    `data`: delay_value, delay_unit, delay_from, content ("text" | "template"), body, template_id,
    variables ([{"source", "value"}] per template variable, as broadcasts map them).
    """
    errors: dict[str, str] = {}
    raw_delay = str(data.get("delay_value") if data.get("delay_value") is not None else "").strip()
    delay = int(raw_delay) if raw_delay.isdigit() else None
    if delay is None or delay > DELAY_MAX:
        errors["delay_value"] = f"Enter a whole number from 0 to {DELAY_MAX}."
    unit, start = data.get("delay_unit"), data.get("delay_from")
    if unit not in set(DelayUnit):
        errors["delay_unit"] = "Choose minutes, hours or days."
    if start not in set(DelayFrom):
        errors["delay_from"] = "Choose what the delay counts from."
    body, template, variables = clean_content(data, errors)
    if errors:
        raise Invalid(errors)
    if step is None:
        last = db.session.scalar(select(func.max(DripStep.position)).where(DripStep.sequence_id == sequence.id))
        step = DripStep(sequence_id=sequence.id, position=(last or 0) + 1)
    step.delay_value, step.delay_unit, step.delay_from = delay, unit, start
    step.body = body
    step.template_name = template.name if template else None
    step.template_language = template.language if template else None
    step.template_variables = variables
    db.session.add(step)
    db.session.flush()
    replan(sequence)
    return step


def remove_step(step: DripStep, now: datetime | None = None) -> None:
    """Hide a step: enrolments waiting for it move on to the next; its sends and figures are kept (flushes)."""
    step.removed_at = now or utcnow()
    db.session.flush()
    replan(db.session.scalar(select(DripSequence).where(DripSequence.id == step.sequence_id)))


def move_step(step: DripStep, direction: int) -> None:
    """Swap a step with its neighbour above (-1) or below (+1); steps already sent are never sent again."""
    steps = active_steps(step.sequence_id)
    index = next(i for i, s in enumerate(steps) if s.id == step.id)
    other = index + (1 if direction > 0 else -1)
    if not 0 <= other < len(steps):
        raise Invalid("This step cannot move further.")
    for position, item in enumerate(_swapped(steps, index, other), 1):
        item.position = position
    db.session.flush()
    replan(db.session.scalar(select(DripSequence).where(DripSequence.id == step.sequence_id)))


def _swapped(steps: list[DripStep], a: int, b: int) -> list[DripStep]:
    steps = list(steps)
    steps[a], steps[b] = steps[b], steps[a]
    return steps


def replan(sequence: DripSequence, now: datetime | None = None) -> int:
    """Recompute the next step and time of the sequence's active enrolments after an edit; returns how many.

    Done in batches by id; the due sweep checks the plan again when it comes, so an enrolment that
    changes meanwhile is still sent the right step, once.
    """
    steps, zone, done, after = active_steps(sequence.id), workspace_zone(), 0, 0
    while True:
        batch = list(db.session.scalars(
            select(DripEnrolment).where(DripEnrolment.sequence_id == sequence.id,
                                        DripEnrolment.state == EnrolmentState.ACTIVE, DripEnrolment.id > after)
            .order_by(DripEnrolment.id).limit(REPLAN_BATCH)))
        if not batch:
            return done
        sent = sent_step_ids([e.id for e in batch])
        completed = [enrolment for enrolment in batch
                     if plan(enrolment, sequence, steps, sent.get(enrolment.id, set()), zone, now) is None]
        db.session.flush()
        announce_completed(completed)
        done, after = done + len(batch), batch[-1].id


def sent_step_ids(enrolment_ids: list[int]) -> dict[int, set[int]]:
    """Enrolment id -> the ids of the steps it has had (sent or refused)."""
    out: dict[int, set[int]] = {}
    if enrolment_ids:
        for enrolment_id, step_id in db.session.execute(
                select(DripStepSend.enrolment_id, DripStepSend.step_id)
                .where(DripStepSend.enrolment_id.in_(enrolment_ids))):
            out.setdefault(enrolment_id, set()).add(step_id)
    return out
