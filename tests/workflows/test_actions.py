"""Each action kind, run by the runner: sends through the outbox (opted-out never messaged), tags, drips,
tasks, deals, fields; a failing action is logged and the next run still works."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Contact, ContactTag, Deal, DripEnrolment, Message, MessageTemplate, Tag, Task
from services.deals import all_pipelines, stages_of
from tests.drips.helpers import make_sequence
from tests.factories import link, make_contact, make_tag
from tests.workflows.helpers import advance, deliver, event, make_workflow, runs, texts


def _fire(in_tenant, tenant_id: int, contact_id: int, text: str = "hello") -> int:
    [run_id] = deliver(in_tenant, tenant_id, event("message.received", contact_id, data={"text": text}))
    advance(in_tenant, tenant_id, run_id)
    return run_id


def _run(in_tenant, tenant_id: int, run_id: int):
    return next(r for r in runs(in_tenant, tenant_id) if r.id == run_id)


def test_send_text_queues_a_personalised_workflow_message(sandbox_owner, in_tenant):
    tenant = sandbox_owner.tenant_id
    make_workflow(in_tenant, tenant, [{"kind": "send_text", "body": "Hi {{first_name}}, prices attached."}])
    with in_tenant(tenant):
        contact_id = make_contact(name="Ana Souza").id
    run = _run(in_tenant, tenant, _fire(in_tenant, tenant, contact_id))
    assert run.state == "done" and "queued text message" in texts(run)[1]
    with in_tenant(tenant):
        [message] = db.session.scalars(select(Message).where(Message.direction == "out")).all()
        assert (message.body, message.origin, message.status) == ("Hi Ana, prices attached.", "workflow", "queued")


def test_an_opted_out_contact_is_never_messaged(sandbox_owner, in_tenant):
    tenant = sandbox_owner.tenant_id
    with in_tenant(tenant):
        template = MessageTemplate(name="promo", language="en_US", status="APPROVED", body_text="Sale!")
        db.session.add(template)
        db.session.flush()
        template_id = template.id
        contact_id = make_contact(opted_out=True).id
    make_workflow(in_tenant, tenant, [{"kind": "send_text", "body": "Hello"},
                                      {"kind": "send_template", "template_id": template_id},
                                      {"kind": "set_field", "field": "after", "value": "yes"}])
    run = _run(in_tenant, tenant, _fire(in_tenant, tenant, contact_id))
    assert run.state == "done"
    assert [line for line in texts(run) if "opted out" in line] == [
        "action: 1. Send a text: skipped: the contact opted out of messages",
        "action: 2. Send a template: skipped: the contact opted out of messages"]
    with in_tenant(tenant):
        assert db.session.scalars(select(Message)).all() == []
        assert db.session.scalar(select(Contact).where(Contact.id == contact_id)).custom_fields == {"after": "yes"}


def test_send_template_queues_the_approved_template(sandbox_owner, in_tenant):
    tenant = sandbox_owner.tenant_id
    with in_tenant(tenant):
        template = MessageTemplate(name="price_list", language="en_US", status="APPROVED",
                                   body_text="Hi {{1}}, here are our prices.", variable_count=1,
                                   components=[{"type": "BODY", "text": "Hi {{1}}, here are our prices."}])
        db.session.add(template)
        db.session.flush()
        template_id, contact_id = template.id, make_contact(name="Bo Berg").id
    make_workflow(in_tenant, tenant, [{"kind": "send_template", "template_id": template_id,
                                       "variables": "{{first_name}}"}])
    run = _run(in_tenant, tenant, _fire(in_tenant, tenant, contact_id))
    assert run.state == "done", texts(run)
    with in_tenant(tenant):
        [message] = db.session.scalars(select(Message)).all()
        assert (message.type, message.body, message.origin) == ("template", "Hi Bo, here are our prices.", "workflow")


def test_tags_fields_tasks(owner, in_tenant):
    tenant = owner.tenant_id
    with in_tenant(tenant):
        contact = make_contact()
        lead, old = make_tag("lead"), make_tag("old")
        link(contact, old)
        contact_id, lead_id, old_id = contact.id, lead.id, old.id
    make_workflow(in_tenant, tenant, [{"kind": "add_tag", "tag_id": lead_id}, {"kind": "remove_tag", "tag_id": old_id},
                                      {"kind": "set_field", "field": "source", "value": "whatsapp {{first_name}}"},
                                      {"kind": "create_task", "title": "Call {{name}}", "due_in_hours": 2}])
    run = _run(in_tenant, tenant, _fire(in_tenant, tenant, contact_id))
    assert run.state == "done", texts(run)
    with in_tenant(tenant):
        tags = set(db.session.scalars(select(Tag.name).join(ContactTag, ContactTag.tag_id == Tag.id)
                                      .where(ContactTag.contact_id == contact_id)))
        assert tags == {"lead"}
        contact = db.session.scalar(select(Contact).where(Contact.id == contact_id))
        assert contact.custom_fields["source"] == "whatsapp " + contact.name.split()[0]
        task = db.session.scalar(select(Task))
        assert task.title == f"Call {contact.name}" and task.contact_id == contact_id and task.due_at is not None


def test_create_then_move_a_deal(owner, in_tenant):
    tenant = owner.tenant_id
    with in_tenant(tenant):
        contact_id = make_contact().id
        new, qualified = [s.id for s in stages_of(all_pipelines()[0])][:2]
    make_workflow(in_tenant, tenant, [{"kind": "create_deal", "title": "Deal for {{name}}", "stage_id": new,
                                       "value": "120"}], trigger={"match": "keyword", "value": "price"})
    make_workflow(in_tenant, tenant, [{"kind": "move_deal", "stage_id": qualified}],
                  trigger={"match": "keyword", "value": "buy"})
    _fire(in_tenant, tenant, contact_id, "price?")
    with in_tenant(tenant):
        deal = db.session.scalar(select(Deal))
        assert (deal.stage_id, deal.contact_id, deal.value_minor) == (new, contact_id, 12000)
    _fire(in_tenant, tenant, contact_id, "I will buy")
    with in_tenant(tenant):
        assert db.session.scalar(select(Deal.stage_id)) == qualified


def test_enrol_in_and_stop_a_drip_sequence(owner, in_tenant):
    tenant = owner.tenant_id
    sequence_id = make_sequence(in_tenant, tenant, [(1, "days", "previous", "Day one")])
    with in_tenant(tenant):
        contact_id = make_contact().id
    make_workflow(in_tenant, tenant, [{"kind": "enrol", "sequence_id": sequence_id}],
                  trigger={"match": "keyword", "value": "join"})
    make_workflow(in_tenant, tenant, [{"kind": "stop_drip", "sequence_id": sequence_id}],
                  trigger={"match": "keyword", "value": "leave"})
    _fire(in_tenant, tenant, contact_id, "join")
    with in_tenant(tenant):
        enrolment = db.session.scalar(select(DripEnrolment))
        assert (enrolment.state, enrolment.source) == ("active", "workflow")
    _fire(in_tenant, tenant, contact_id, "leave")
    with in_tenant(tenant):
        enrolment = db.session.scalar(select(DripEnrolment))
        assert (enrolment.state, enrolment.reason) == ("stopped", "stopped by a workflow")


def test_a_failing_action_is_logged_and_the_next_run_still_works(owner, in_tenant):
    tenant = owner.tenant_id
    with in_tenant(tenant):
        contact_id = make_contact().id
        doomed = make_tag("doomed")
        doomed_id = doomed.id
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "remove_tag", "tag_id": doomed_id},
                                                    {"kind": "set_field", "field": "after", "value": "1"}])
    with in_tenant(tenant):
        db.session.delete(db.session.scalar(select(Tag).where(Tag.id == doomed_id)))
    failed = _run(in_tenant, tenant, _fire(in_tenant, tenant, contact_id))
    assert failed.state == "failed" and failed.resume_at is None
    assert texts(failed)[-1] == f"action: 1. Remove tag: failed: The tag #{doomed_id} no longer exists."
    with in_tenant(tenant):
        assert db.session.scalar(select(Contact.custom_fields).where(Contact.id == contact_id)) == {}
        fixed = make_tag("fixed")
        from models import Workflow
        workflow = db.session.scalar(select(Workflow).where(Workflow.id == workflow_id))
        workflow.actions = [{"kind": "remove_tag", "tag_id": fixed.id}, workflow.actions[1]]
    ok = _run(in_tenant, tenant, _fire(in_tenant, tenant, contact_id))
    assert ok.state == "done", texts(ok)
