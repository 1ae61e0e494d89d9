"""Builders for drip tests: sequences with steps, enrolments, the sweep at a chosen moment, what was sent."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from extensions import db
from models import Contact, DripEnrolment, DripSequence, DripStep, DripStepSend, Message, Tenant
from services.drips.enrolment import enrol
from services.drips.sequences import SequenceInput, save_sequence, save_step
from tests.factories import make_contact

# A Wednesday.
T0 = datetime(2031, 3, 5, 15, 0, tzinfo=UTC)


def set_zone(app, tenant_id: int, zone: str) -> None:
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(time_zone=zone))
        db.session.commit()


def make_sequence(in_tenant, tenant_id: int, steps: list[tuple], **settings) -> int:
    """A sequence with `steps` given as (delay, unit, from, body)."""
    with in_tenant(tenant_id):
        sequence = save_sequence(SequenceInput(**({"name": "Welcome"} | settings)))
        for delay, unit, start, body in steps:
            save_step(sequence, {"delay_value": delay, "delay_unit": unit, "delay_from": start, "content": "text",
                                 "body": body})
        return sequence.id


def a_contact(in_tenant, tenant_id: int, **fields) -> int:
    with in_tenant(tenant_id):
        return make_contact(**({"name": "Ana Souza"} | fields)).id


def enrol_at(in_tenant, tenant_id: int, contact_id: int, sequence_id: int, now: datetime, source="manual") -> int:
    with in_tenant(tenant_id):
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        sequence = db.session.scalar(select(DripSequence).where(DripSequence.id == sequence_id))
        return enrol(contact, sequence, source=source, now=now).id


def sweep(now: datetime) -> dict[str, int]:
    from jobs.drips import send_due_steps

    return send_due_steps(now=now)


def enrolment(in_tenant, tenant_id: int, enrolment_id: int | None = None) -> DripEnrolment:
    with in_tenant(tenant_id):
        stmt = select(DripEnrolment).order_by(DripEnrolment.id)
        if enrolment_id is not None:
            stmt = stmt.where(DripEnrolment.id == enrolment_id)
        row = db.session.scalar(stmt)
        db.session.expunge(row)
        return row


def drip_bodies(in_tenant, tenant_id: int, contact_id: int | None = None) -> list[str]:
    """Bodies of the drip messages queued, oldest first."""
    with in_tenant(tenant_id):
        stmt = select(Message.body).where(Message.origin == "drip").order_by(Message.id)
        if contact_id is not None:
            stmt = stmt.where(Message.contact_id == contact_id)
        return list(db.session.scalars(stmt))


def step_ids(in_tenant, tenant_id: int, sequence_id: int) -> list[int]:
    with in_tenant(tenant_id):
        return list(db.session.scalars(select(DripStep.id).where(DripStep.sequence_id == sequence_id)
                                       .order_by(DripStep.position)))


def sends(in_tenant, tenant_id: int) -> list[DripStepSend]:
    with in_tenant(tenant_id):
        rows = list(db.session.scalars(select(DripStepSend).order_by(DripStepSend.id)))
        for row in rows:
            db.session.expunge(row)
        return rows
