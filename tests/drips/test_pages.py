"""Drip pages: sequences and steps through their forms, the list's figures, enrolments, enrolling from contacts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from extensions import db
from models import DripEnrolment, DripSequence, DripStep, DripStepSend, Message
from models.base import utcnow
from tests.drips.helpers import a_contact, enrol_at, make_sequence, set_zone, sweep
from tests.factories import link, make_contact, make_tag
from tests.test_isolation_routes import snapshot

STEPS = [(0, "minutes", "previous", "Hello {{first_name}}"), (1, "days", "previous", "Day two")]


def test_a_sequence_and_its_steps_through_the_forms(app, client, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    refused = client.post("/drips/new", data={"name": " ", "exit_on_reply": "y"})
    assert refused.status_code == 422 and "Enter a name for the sequence." in refused.get_data(as_text=True)
    bad_window = client.post("/drips/new", data={"name": "Onboarding", "window_days": ["0"], "window_start": "18:00",
                                                 "window_end": "09:00"})
    assert bad_window.status_code == 422 and "open before it closes" in bad_window.get_data(as_text=True)
    created = client.post("/drips/new", data={"name": "Onboarding", "exit_on_reply": "y", "window_days": ["0", "4"],
                                              "window_start": "09:00", "window_end": "18:00"})
    assert created.status_code == 303
    with in_tenant(tenant_id):
        sequence = db.session.scalar(select(DripSequence))
        assert (sequence.window_days, sequence.exit_on_reply, sequence.allow_reenrol) == ("0,4", True, False)
        sequence_id = sequence.id
    empty = client.post(f"/drips/{sequence_id}/steps/new", data={"delay_value": "x", "delay_unit": "days",
                                                                 "delay_from": "previous", "content": "text"})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Enter a whole number" in page and "Write the message." in page
    unknown = client.post(f"/drips/{sequence_id}/steps/new", data={
        "delay_value": "0", "delay_unit": "minutes", "delay_from": "previous", "content": "text", "body": "{{nmae}}"})
    assert unknown.status_code == 422 and "Unknown placeholder" in unknown.get_data(as_text=True)
    for body, delay in (("Welcome {{first_name|friend}}", "0"), ("Tip of the day", "2")):
        assert client.post(f"/drips/{sequence_id}/steps/new", data={
            "delay_value": delay, "delay_unit": "days", "delay_from": "previous", "content": "text",
            "body": body}).status_code == 303
    editor = client.get(f"/drips/{sequence_id}/edit").get_data(as_text=True)
    assert "Welcome {{first_name|friend}}" in editor and "Tip of the day" in editor
    assert "never the same step twice" in editor
    with in_tenant(tenant_id):
        first, second = db.session.scalars(select(DripStep.id).order_by(DripStep.position)).all()
    assert client.post(f"/drips/steps/{second}/edit", data={"delay_value": "3", "delay_unit": "hours",
                                                            "delay_from": "enrolment", "content": "text",
                                                            "body": "Tip, sooner"}).status_code == 303
    assert client.post(f"/drips/steps/{second}/move", data={"direction": "up"}).status_code == 303
    assert client.post(f"/drips/steps/{first}/remove").status_code == 303
    with in_tenant(tenant_id):
        steps = db.session.execute(select(DripStep.body, DripStep.delay_unit, DripStep.removed_at.is_(None))
                                   .order_by(DripStep.position)).all()
    assert [tuple(s) for s in steps] == [("Tip, sooner", "hours", True),
                                         ("Welcome {{first_name|friend}}", "days", False)]
    assert client.get(f"/drips/steps/{first}/edit").status_code == 404  # removed steps are gone from the pages
    assert "Sequences" in client.get("/drips/").get_data(as_text=True)


def test_the_list_counts_enrolments_and_each_step_s_figures(app, client, sandbox_owner, in_tenant, run_jobs):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, STEPS)
    now = utcnow()
    ids = [a_contact(in_tenant, tenant_id, name=f"Contact {n}") for n in range(3)]
    enrolments = [enrol_at(in_tenant, tenant_id, cid, sequence_id, now) for cid in ids]
    sweep(now)
    run_jobs()
    with in_tenant(tenant_id):
        for contact_id, status in zip(ids, ("read", "sent", "delivered"), strict=True):
            db.session.execute(update(Message).where(Message.contact_id == contact_id).values(status=status))
        db.session.execute(update(DripStepSend).where(DripStepSend.enrolment_id == enrolments[2])
                           .values(replied_at=now))
        db.session.execute(update(DripEnrolment).where(DripEnrolment.id == enrolments[2])
                           .values(state="stopped", reason="replied", next_step_at=None))
    page = client.get("/drips/").get_data(as_text=True)
    assert "2 active" in page and "0 completed" in page and "1 stopped" in page
    row = page[page.index('data-step="1"'):page.index('data-step="2"')]
    assert "<td data-sent>3</td><td data-delivered>2</td><td data-read>1</td>" in row
    assert "<td data-replied>1</td>" in row


def test_the_enrolment_page_shows_next_send_in_the_workspace_zone_and_stops_and_restarts(app, client, sandbox_owner,
                                                                                        in_tenant):
    tenant_id = sandbox_owner.tenant_id
    set_zone(app, tenant_id, "Asia/Tokyo")
    sequence_id = make_sequence(in_tenant, tenant_id, [(2, "hours", "previous", "Later")])
    now = utcnow().replace(second=0, microsecond=0)
    enrolment_id = enrol_at(in_tenant, tenant_id, a_contact(in_tenant, tenant_id, name="Kenji"), sequence_id, now)
    from zoneinfo import ZoneInfo

    local = (now + timedelta(hours=2)).astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    page = client.get(f"/drips/{sequence_id}/enrolments").get_data(as_text=True)
    assert "Kenji" in page and local in page and "Step 1 of 1" in page and "Asia/Tokyo" in page
    assert client.post(f"/drips/enrolments/{enrolment_id}/stop").status_code == 303
    page = client.get(f"/drips/{sequence_id}/enrolments").get_data(as_text=True)
    assert "stopped: <span data-reason>stopped by hand</span>" in page
    assert client.post(f"/drips/enrolments/{enrolment_id}/restart").status_code == 303
    with in_tenant(tenant_id):
        row = db.session.scalar(select(DripEnrolment))
        assert (row.state, row.reason) == ("active", None) and row.next_step_at >= now + timedelta(hours=2)


def test_enrol_from_a_contact_page_and_from_a_selection(app, client, sandbox_owner, create_user, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, STEPS)
    ana, bia, gone = (a_contact(in_tenant, tenant_id, name=n, **extra)
                      for n, extra in (("Ana", {}), ("Bia", {}), ("Gone", {"opted_out": True})))
    other = create_user(tenant_name="Other").tenant_id
    theirs = a_contact(in_tenant, other, name="Theirs")
    page = client.get(f"/drips/enrol/{ana}").get_data(as_text=True)
    assert 'id="enrol-form"' in page and "Welcome" in page
    assert client.post(f"/drips/enrol/{ana}", data={"sequence_id": sequence_id}).status_code == 303
    again = client.post(f"/drips/enrol/{ana}", data={"sequence_id": sequence_id}, follow_redirects=True)
    assert "Ana is in Welcome already." in again.get_data(as_text=True)
    listing = client.get("/contacts/").get_data(as_text=True)
    assert 'form="enrol-selection"' in listing and 'id="selection-sequence"' in listing
    done = client.post("/drips/enrol-selection", data={"sequence_id": sequence_id,
                                                       "contact_ids": [ana, bia, gone, theirs]},
                       follow_redirects=True).get_data(as_text=True)
    assert "1 contact enrolled in Welcome." in done and "Gone opted out of messages." in done
    with in_tenant(tenant_id):
        assert sorted(db.session.scalars(select(DripEnrolment.contact_id))) == sorted([ana, bia])
    with in_tenant(other):
        assert db.session.scalar(select(func.count(DripEnrolment.id))) == 0


def test_enrol_everyone_with_the_tag_from_the_sequence_page(app, client, sandbox_owner, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    with in_tenant(tenant_id):
        tag = make_tag(name="lead")
        for n in range(3):
            link(make_contact(name=f"Lead {n}"), tag)
        tag_id = tag.id
    sequence_id = make_sequence(in_tenant, tenant_id, STEPS, auto_enrol_tag_id=tag_id)
    assert "Enrol everyone who already has the tag lead" in client.get(f"/drips/{sequence_id}/edit").get_data(
        as_text=True)
    done = client.post(f"/drips/{sequence_id}/enrol-tagged", follow_redirects=True).get_data(as_text=True)
    assert "3 contacts enrolled." in done


# --- another workspace --------------------------------------------------------------------------------------

def test_another_workspace_gets_404_and_changes_nothing(app, client, sandbox_owner, create_user, login, in_tenant):
    tenant_id = sandbox_owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant_id, STEPS)
    contact_id = a_contact(in_tenant, tenant_id)
    enrolment_id = enrol_at(in_tenant, tenant_id, contact_id, sequence_id, utcnow() + timedelta(days=1))
    with in_tenant(tenant_id):
        step_id = db.session.scalar(select(DripStep.id))
    intruder = create_user(tenant_name="Intruder")
    other = login(intruder, test_client=app.test_client())
    own_sequence = make_sequence(in_tenant, intruder.tenant_id, STEPS, name="Mine")
    own_contact = a_contact(in_tenant, intruder.tenant_id, name="Mine")
    before = snapshot(app)
    for method, url in [("get", f"/drips/{sequence_id}/edit"), ("post", f"/drips/{sequence_id}/edit"),
                        ("get", f"/drips/{sequence_id}/enrolments"), ("post", f"/drips/{sequence_id}/enrol-tagged"),
                        ("get", f"/drips/{sequence_id}/steps/new"), ("post", f"/drips/{sequence_id}/steps/new"),
                        ("get", f"/drips/steps/{step_id}/edit"), ("post", f"/drips/steps/{step_id}/remove"),
                        ("post", f"/drips/steps/{step_id}/move"), ("post", f"/drips/enrolments/{enrolment_id}/stop"),
                        ("post", f"/drips/enrolments/{enrolment_id}/restart"), ("get", f"/drips/enrol/{contact_id}"),
                        ("post", f"/drips/enrol/{contact_id}")]:
        response = getattr(other, method)(url, data={"name": "hijack", "sequence_id": own_sequence})
        assert response.status_code == 404, f"{method} {url}"
    # Routes without an id in the path: another workspace's sequence or contacts are unknown there.
    listing = other.get("/drips/").get_data(as_text=True)
    assert "Welcome" not in listing and "Mine" in listing
    other.post(f"/drips/enrol/{own_contact}", data={"sequence_id": sequence_id})
    other.post("/drips/enrol-selection", data={"sequence_id": sequence_id, "contact_ids": [own_contact]})
    other.post("/drips/enrol-selection", data={"sequence_id": own_sequence, "contact_ids": [contact_id]})
    assert snapshot(app) == before
