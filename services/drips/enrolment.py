"""Enrolling contacts in sequences (by hand, by tag, by workflows), and stopping or restarting them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Contact, ContactTag, DripEnrolment, DripSequence
from models.base import utcnow
from models.drip import EnrolmentState
from models.tenancy import current_tenant_id
from models.types import UTCDateTime
from services.drips.exits import on_exit_tags
from services.drips.sending import BATCH
from services.drips.sequences import active_steps, sent_step_ids
from services.drips.timing import next_opening, plan, step_due_at
from services.errors import Invalid
from services.outbox import bulk_reachable
from services.queueing import DEFAULT_QUEUE, enqueue_after_commit
from services.workspace import workspace_zone

SEND_JOB = "jobs.drips.send_due_for_tenant"
SOURCES = ("manual", "tag", "workflow")
_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _wake_at(moment: datetime | None, now: datetime) -> None:
    """A job for the moment the first step is due (precision); the cron sweep catches it if Redis loses it.

    Coalesced: enrolling a selection asks once per batch the job takes, not once per contact.
    """
    if moment is not None:
        enqueue_after_commit(SEND_JOB, current_tenant_id(), delay=max(0.0, (moment - now).total_seconds()),
                             queue_name=DEFAULT_QUEUE, coalesce=BATCH)


def enrol(contact: Contact, sequence: DripSequence, *, source: str = "manual",
          now: datetime | None = None) -> DripEnrolment:
    """Put `contact` in `sequence` from its first step (flushes); Invalid says why not.

    Refused when the contact opted out, is in the sequence already, or went through it before and the
    sequence does not allow re-enrolment. The partial unique index settles a race between two enrolments.
    """
    now = now or utcnow()
    if source not in SOURCES:
        raise ValueError(f"unknown enrolment source {source!r}")
    if contact.opted_out:
        raise Invalid({"sequence_id": f"{contact.name} opted out of messages."})
    steps = active_steps(sequence.id)
    if not steps:
        raise Invalid({"sequence_id": f"{sequence.name} has no steps yet."})
    states = set(db.session.scalars(select(DripEnrolment.state).where(DripEnrolment.sequence_id == sequence.id,
                                                                      DripEnrolment.contact_id == contact.id)))
    if EnrolmentState.ACTIVE in states:
        raise Invalid({"sequence_id": f"{contact.name} is in {sequence.name} already."})
    if states and not sequence.allow_reenrol:
        raise Invalid({"sequence_id": f"{contact.name} was in {sequence.name} before, and it does not allow "
                                      "enrolling again (see its settings)."})
    enrolment = DripEnrolment(sequence_id=sequence.id, contact_id=contact.id, state=EnrolmentState.ACTIVE,
                              source=source, enrolled_at=now, anchor_at=now)
    plan(enrolment, sequence, steps, set(), workspace_zone(), now)
    try:
        with db.session.begin_nested():
            db.session.add(enrolment)
    except IntegrityError as exc:
        raise Invalid({"sequence_id": f"{contact.name} is in {sequence.name} already."}) from exc
    _wake_at(enrolment.next_step_at, now)
    return enrolment


def enrol_selection(contact_ids: list[int], sequence: DripSequence, now: datetime | None = None
                    ) -> tuple[int, list[str]]:
    """Enrol the chosen contacts by hand; returns (how many enrolled, why the others were not)."""
    enrolled, refused = 0, []
    contacts = db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids)).order_by(Contact.id))
    for contact in contacts:
        try:
            enrol(contact, sequence, source="manual", now=now)
        except Invalid as exc:
            refused.append(next(iter(exc.errors.values())))
        else:
            enrolled += 1
    return enrolled, refused


def enrol_tagged(sequence: DripSequence, now: datetime | None = None) -> int:
    """Enrol every reachable contact who has the sequence's tag and may be enrolled, in one INSERT … SELECT.

    The tenant is written into every part of the statement by hand: the ORM's scope does not reach inside
    an INSERT … SELECT. Everyone starts at the same moment, so the first step's time is the same for all.
    """
    now = now or utcnow()
    if sequence.auto_enrol_tag_id is None:
        raise Invalid({"auto_enrol_tag_id": "Choose the tag that enrols contacts first."})
    steps = active_steps(sequence.id)
    if not steps:
        raise Invalid({"sequence_id": f"{sequence.name} has no steps yet."})
    tenant_id, zone = current_tenant_id(), workspace_zone()
    first = steps[0]
    due = next_opening(step_due_at(first, now, now, zone), sequence, zone)
    tagged = select(ContactTag.contact_id).where(ContactTag.tenant_id == tenant_id,
                                                 ContactTag.tag_id == sequence.auto_enrol_tag_id)
    taken = select(DripEnrolment.contact_id).where(DripEnrolment.tenant_id == tenant_id,
                                                   DripEnrolment.sequence_id == sequence.id)
    if sequence.allow_reenrol:
        taken = taken.where(DripEnrolment.state == EnrolmentState.ACTIVE)
    at = (lambda value: literal(value, UTCDateTime()))
    source = (select(literal(tenant_id), literal(sequence.id), Contact.id, literal(EnrolmentState.ACTIVE.value),
                     literal("tag"), literal(first.id), at(due), at(now), at(now), at(now), at(now))
              .where(true(), Contact.tenant_id == tenant_id, bulk_reachable(), Contact.id.in_(tagged),
                     Contact.id.not_in(taken)))
    insert = _DIALECT_INSERT[db.session.get_bind().dialect.name]
    columns = ["tenant_id", "sequence_id", "contact_id", "state", "source", "current_step_id", "next_step_at",
               "enrolled_at", "anchor_at", "created_at", "updated_at"]
    table = DripEnrolment.__table__
    stmt = insert(table).from_select(columns, source).on_conflict_do_nothing().returning(table.c.id)
    count = len(db.session.execute(stmt).all())  # RETURNING: rowcount is not reliable for INSERT … SELECT
    if count:
        _wake_at(due, now)
    return count


def tags_added(contact: Contact, tag_ids: set[int], now: datetime | None = None) -> int:
    """Tags were added to a contact: exit sequences that stop on them, then enrol in those they start;
    returns how many enrolments began."""
    on_exit_tags(contact, tag_ids, now)
    if not tag_ids:
        return 0
    started = 0
    sequences = db.session.scalars(select(DripSequence).where(DripSequence.auto_enrol.is_(True),
                                                              DripSequence.auto_enrol_tag_id.in_(tag_ids))
                                   .order_by(DripSequence.id))
    for sequence in sequences:
        try:
            enrol(contact, sequence, source="tag", now=now)
        except Invalid:
            continue  # in it already, been through it, opted out, or no steps: the tag still applies
        started += 1
    return started


def stop(enrolment: DripEnrolment, reason: str = "stopped by hand", now: datetime | None = None) -> None:
    """Stop an active enrolment (flushes); Invalid if it is not active any more."""
    now = now or utcnow()
    won = db.session.execute(
        update(DripEnrolment).where(DripEnrolment.id == enrolment.id, DripEnrolment.state == EnrolmentState.ACTIVE)
        .values(state=EnrolmentState.STOPPED, reason=reason, next_step_at=None, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise Invalid("This enrolment is not active.")
    db.session.refresh(enrolment)


def restart(enrolment: DripEnrolment, now: datetime | None = None) -> DripEnrolment:
    """Make a stopped or completed enrolment active again with the steps it has not had, timed from now."""
    now = now or utcnow()
    if enrolment.state == EnrolmentState.ACTIVE:
        raise Invalid("This enrolment is active already.")
    contact = db.session.scalar(select(Contact).where(Contact.id == enrolment.contact_id))
    if contact.opted_out:
        raise Invalid(f"{contact.name} opted out of messages.")
    sequence = db.session.scalar(select(DripSequence).where(DripSequence.id == enrolment.sequence_id))
    steps, sent = active_steps(sequence.id), sent_step_ids([enrolment.id]).get(enrolment.id, set())
    if all(step.id in sent for step in steps):
        raise Invalid(f"{contact.name} has had every step of {sequence.name}.")
    try:
        with db.session.begin_nested():
            enrolment.state, enrolment.reason, enrolment.finished_at, enrolment.anchor_at = (
                EnrolmentState.ACTIVE, None, None, now)
            plan(enrolment, sequence, steps, sent, workspace_zone(), now)
            db.session.flush()
    except IntegrityError as exc:
        db.session.refresh(enrolment)
        raise Invalid(f"{contact.name} is in {sequence.name} again already.") from exc
    _wake_at(enrolment.next_step_at, now)
    return enrolment
