"""Enrolment rules: by tag (and everyone who has it), exit on a tag, once at a time, re-enrolment, edits."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Contact, DripEnrolment, DripSequence, DripStep
from models.tenancy import tenant_scope
from services.contacts import add_tag
from services.drips.enrolment import enrol_tagged
from services.drips.sequences import move_step, remove_step, save_step
from services.errors import Invalid
from tests.drips.helpers import (
    T0,
    a_contact,
    drip_bodies,
    enrol_at,
    enrolment,
    make_sequence,
    step_ids,
    sweep,
)
from tests.factories import link, make_contact, make_tag

STEPS = [(0, "minutes", "previous", "One"), (1, "hours", "previous", "Two")]


def a_tag(in_tenant, tenant_id: int, name: str) -> int:
    with in_tenant(tenant_id):
        return make_tag(name=name).id


def tag_contact(in_tenant, tenant_id: int, contact_id: int, tag_id: int) -> None:
    with in_tenant(tenant_id):
        add_tag(db.session.scalar(select(Contact).where(Contact.id == contact_id)), tag_id)


def states(in_tenant, tenant_id: int) -> list[tuple]:
    with in_tenant(tenant_id):
        return [tuple(r) for r in db.session.execute(
            select(DripEnrolment.sequence_id, DripEnrolment.contact_id, DripEnrolment.state, DripEnrolment.source,
                   DripEnrolment.reason).order_by(DripEnrolment.id))]


def test_adding_the_tag_enrols_and_the_exit_tag_stops(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    lead, customer = a_tag(in_tenant, tenant_id, "lead"), a_tag(in_tenant, tenant_id, "customer")
    nurture = make_sequence(in_tenant, tenant_id, STEPS, auto_enrol=True, auto_enrol_tag_id=lead,
                            exit_tag_id=customer)
    manual_only = make_sequence(in_tenant, tenant_id, STEPS, name="Manual", auto_enrol=False, auto_enrol_tag_id=lead)
    contact_id = a_contact(in_tenant, tenant_id)
    tag_contact(in_tenant, tenant_id, contact_id, lead)
    assert states(in_tenant, tenant_id) == [(nurture, contact_id, "active", "tag", None)]
    assert manual_only  # has the tag but automatic enrolment off: nobody enrolled
    tag_contact(in_tenant, tenant_id, contact_id, customer)
    assert states(in_tenant, tenant_id) == [(nurture, contact_id, "stopped", "tag", "tag customer added")]
    sweep(T0 + timedelta(days=1))
    assert drip_bodies(in_tenant, tenant_id) == []


def test_the_contact_form_tags_enrol_too(app, sandbox_owner, client, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    lead = a_tag(in_tenant, tenant_id, "lead")
    nurture = make_sequence(in_tenant, tenant_id, STEPS, auto_enrol=True, auto_enrol_tag_id=lead)
    response = client.post("/contacts/new", data={"name": "Bia", "phone": "+14155550123", "tags": [str(lead)]})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert [s[0] for s in states(in_tenant, tenant_id)] == [nurture]


def test_enrol_everyone_who_has_the_tag_stays_in_the_workspace(app, sandbox_owner, create_user, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    other = create_user(tenant_name="Other").tenant_id
    lead = a_tag(in_tenant, tenant_id, "lead")
    sequence_id = make_sequence(in_tenant, tenant_id, STEPS, auto_enrol_tag_id=lead)
    with in_tenant(tenant_id):
        tag = db.session.get(type(make_tag()), lead)
        fresh = [make_contact(name=f"Lead {n}") for n in range(3)]
        opted_out = make_contact(name="Gone", opted_out=True)
        untagged = make_contact(name="Untagged")
        for contact in [*fresh, opted_out]:
            link(contact, tag)
        fresh_ids, untagged_id = [c.id for c in fresh], untagged.id
    enrol_at(in_tenant, tenant_id, fresh_ids[0], sequence_id, T0)  # already in it
    with in_tenant(other):
        other_tag = make_tag(name="lead")
        link(make_contact(name="Theirs"), other_tag)
    with app.app_context(), tenant_scope(tenant_id):
        sequence = db.session.scalar(select(DripSequence).where(DripSequence.id == sequence_id))
        assert enrol_tagged(sequence, now=T0) == 2
        assert enrol_tagged(sequence, now=T0) == 0  # nobody twice
        db.session.commit()
    rows = states(in_tenant, tenant_id)
    assert sorted(r[1] for r in rows) == sorted(fresh_ids) and untagged_id not in [r[1] for r in rows]
    with in_tenant(other):
        assert db.session.scalar(select(func.count(DripEnrolment.id))) == 0
    assert sweep(T0)["queued"] == 3


def test_once_at_a_time_and_re_enrolment_is_a_setting(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    once = make_sequence(in_tenant, tenant_id, STEPS[:1])
    again = make_sequence(in_tenant, tenant_id, STEPS[:1], name="Again", allow_reenrol=True)
    contact_id = a_contact(in_tenant, tenant_id)
    for sequence_id in (once, again):
        enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)
        with pytest.raises(Invalid, match="is in .* already"):
            enrol_at(in_tenant, tenant_id, contact_id, sequence_id, T0)
    sweep(T0)
    assert [s[2] for s in states(in_tenant, tenant_id)] == ["completed", "completed"]
    with pytest.raises(Invalid, match="does not allow enrolling again"):
        enrol_at(in_tenant, tenant_id, contact_id, once, T0 + timedelta(days=1))
    enrol_at(in_tenant, tenant_id, contact_id, again, T0 + timedelta(days=1))
    sweep(T0 + timedelta(days=1))
    assert drip_bodies(in_tenant, tenant_id) == ["One", "One", "One"]
    # The database itself refuses a second active enrolment.
    with app.app_context(), tenant_scope(tenant_id):
        db.session.add(DripEnrolment(sequence_id=once, contact_id=contact_id, state="active"))
        db.session.add(DripEnrolment(sequence_id=once, contact_id=contact_id, state="active"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def edit(in_tenant, tenant_id: int, action, step_id: int, *args):
    with in_tenant(tenant_id):
        action(db.session.scalar(select(DripStep).where(DripStep.id == step_id)), *args)


def test_editing_a_running_sequence_never_sends_a_step_twice(app, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, [(0, "minutes", "previous", "One"),
                                                       (1, "hours", "previous", "Two"),
                                                       (2, "hours", "previous", "Three")])
    early = enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id, name="Early"), sequence_id, T0)
    sweep(T0)
    one, two, three = step_ids(in_tenant, tenant_id, sequence_id)
    # Removing the step an enrolment waits for: it moves on to the next step, counted from the last send.
    edit(in_tenant, tenant_id, remove_step, two)
    assert enrolment(in_tenant, tenant_id, early).current_step_id == three
    assert enrolment(in_tenant, tenant_id, early).next_step_at == T0 + timedelta(hours=2)
    # Moving the step already sent to the end: it is not sent again.
    edit(in_tenant, tenant_id, move_step, one, +1)
    # Appending a step reaches the active enrolment.
    with in_tenant(tenant_id):
        sequence = db.session.scalar(select(DripSequence).where(DripSequence.id == sequence_id))
        save_step(sequence, {"delay_value": 1, "delay_unit": "days", "delay_from": "previous", "content": "text",
                             "body": "Four"})
    sweep(T0 + timedelta(hours=2))
    assert enrolment(in_tenant, tenant_id, early).next_step_at == T0 + timedelta(days=1, hours=2)
    sweep(T0 + timedelta(days=2))
    assert drip_bodies(in_tenant, tenant_id) == ["One", "Three", "Four"]
    assert enrolment(in_tenant, tenant_id, early).state == "completed"


def test_an_edit_between_plan_and_sweep_is_caught_by_the_sweep(app, sandbox_owner, in_tenant):
    """Even if an enrolment still points at a removed step, the sweep sends the right one, once."""
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, STEPS)
    enrolment_id = enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id), sequence_id, T0)
    one, two = step_ids(in_tenant, tenant_id, sequence_id)
    with in_tenant(tenant_id):
        db.session.execute(update(DripStep).where(DripStep.id == one).values(removed_at=T0))
    assert enrolment(in_tenant, tenant_id, enrolment_id).current_step_id == one
    assert sweep(T0)["replanned"] == 1  # step two counts an hour from enrolment
    sweep(T0 + timedelta(hours=1))
    assert drip_bodies(in_tenant, tenant_id) == ["Two"]
