"""What the drip pages show: enrolment counts per sequence, per-step figures, the enrolments of a sequence."""
from __future__ import annotations

from sqlalchemy import and_, case, func, select

from extensions import db
from models import Contact, DripEnrolment, DripSequence, DripStep, DripStepSend, Message
from models.drip import EnrolmentState

ENROLMENTS_PAGE = 200
STEP_FIGURES = ("sent", "delivered", "read", "replied", "not_sent", "waiting")


def sequences() -> list[DripSequence]:
    """The workspace's sequences, by name."""
    return list(db.session.scalars(select(DripSequence).order_by(DripSequence.name, DripSequence.id)))


def state_counts(sequence_ids: list[int]) -> dict[int, dict[str, int]]:
    """Sequence id -> enrolments active, completed and stopped (one grouped query)."""
    out = {sid: dict.fromkeys(EnrolmentState, 0) for sid in sequence_ids}
    if sequence_ids:
        for sequence_id, state, number in db.session.execute(
                select(DripEnrolment.sequence_id, DripEnrolment.state, func.count(DripEnrolment.id))
                .where(DripEnrolment.sequence_id.in_(sequence_ids))
                .group_by(DripEnrolment.sequence_id, DripEnrolment.state)):
            out[sequence_id][EnrolmentState(state)] = number
    return {sid: {str(k): v for k, v in counts.items()} for sid, counts in out.items()}


def steps_of(sequence_ids: list[int]) -> dict[int, list[DripStep]]:
    """Sequence id -> its steps in order (removed ones left out)."""
    out: dict[int, list[DripStep]] = {sid: [] for sid in sequence_ids}
    if sequence_ids:
        for step in db.session.scalars(select(DripStep).where(DripStep.sequence_id.in_(sequence_ids),
                                                              DripStep.removed_at.is_(None))
                                       .order_by(DripStep.position, DripStep.id)):
            out[step.sequence_id].append(step)
    return out


def step_figures(step_ids: list[int]) -> dict[int, dict[str, int]]:
    """Step id -> sent (delivered and read included), delivered, read, replied, not sent, waiting in the outbox."""
    out = {sid: dict.fromkeys(STEP_FIGURES, 0) for sid in step_ids}
    if not step_ids:
        return out
    replied = case((DripStepSend.replied_at.is_not(None), 1), else_=0)
    rows = db.session.execute(
        select(DripStepSend.step_id, Message.status, DripStepSend.message_id.is_(None), func.count(DripStepSend.id),
               func.sum(replied))
        .outerjoin(Message, and_(Message.id == DripStepSend.message_id, Message.tenant_id == DripStepSend.tenant_id))
        .where(DripStepSend.step_id.in_(step_ids))
        .group_by(DripStepSend.step_id, Message.status, DripStepSend.message_id.is_(None)))
    for step_id, status, refused, number, replies in rows:
        figures = out[step_id]
        figures["replied"] += int(replies or 0)
        if refused:
            figures["not_sent"] += number
        elif status in ("sent", "delivered", "read"):
            figures["sent"] += number
            figures["delivered"] += number if status in ("delivered", "read") else 0
            figures["read"] += number if status == "read" else 0
        elif status in ("queued", "sending"):
            figures["waiting"] += number
    return out


def enrolments(sequence: DripSequence, state: str | None = None, limit: int = ENROLMENTS_PAGE):
    """(enrolment, contact) rows of a sequence, active first by next send time, then the latest finished."""
    stmt = (select(DripEnrolment, Contact)
            .join(Contact, and_(Contact.id == DripEnrolment.contact_id, Contact.tenant_id == DripEnrolment.tenant_id))
            .where(DripEnrolment.sequence_id == sequence.id)
            .order_by(case((DripEnrolment.state == EnrolmentState.ACTIVE, 0), else_=1), DripEnrolment.next_step_at,
                      DripEnrolment.finished_at.desc(), DripEnrolment.id.desc()).limit(limit))
    if state:
        stmt = stmt.where(DripEnrolment.state == state)
    return db.session.execute(stmt).all()


def of_contact(contact: Contact):
    """(enrolment, sequence) rows of one contact, latest first."""
    return db.session.execute(
        select(DripEnrolment, DripSequence)
        .join(DripSequence, and_(DripSequence.id == DripEnrolment.sequence_id,
                                 DripSequence.tenant_id == DripEnrolment.tenant_id))
        .where(DripEnrolment.contact_id == contact.id).order_by(DripEnrolment.id.desc()).limit(50)).all()
