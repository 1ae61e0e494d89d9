"""The workflow pages: the builder's htmx steps, validation (422), save, enable/disable/delete (audited),
the auto-tag preset, the run log and the dry run that changes nothing."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import AuditEvent, Contact, ContactTag, Message, Workflow
from tests.factories import make_contact, make_tag
from tests.workflows.helpers import advance, deliver, event, make_workflow, workflow_row

HX = {"HX-Request": "true"}


def _audit(in_tenant, tenant_id: int) -> list[str]:
    with in_tenant(tenant_id):
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("workflow.%"))
                                       .order_by(AuditEvent.id)))


def test_builder_adds_reorders_and_removes_steps_without_saving(client, owner, in_tenant):
    page = client.get("/workflows/new")
    assert page.status_code == 200 and 'id="workflow-editor"' in page.get_data(as_text=True)
    form = {"name": "Leads", "trigger_kind": "message.received", "trigger-match": "any", "new-actions": "add_tag",
            "op": "add:actions"}
    added = client.post("/workflows/new", data=form, headers=HX)
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and "<html" not in html and 'name="actions-0-kind" value="add_tag"' in html
    two = {**form, "actions-0-kind": "add_tag", "actions-1-kind": "set_field", "actions-1-field": "x",
           "actions-1-value": "y", "op": "up:actions:1"}
    html = client.post("/workflows/new", data=two, headers=HX).get_data(as_text=True)
    assert 'name="actions-0-kind" value="set_field"' in html                  # moved up
    assert 'name="actions-1-kind" value="add_tag"' in html
    assert 'name="actions-0-field" value="x"' in html                        # its settings moved with it
    html = client.post("/workflows/new", data={**two, "op": "remove:actions:0"}, headers=HX).get_data(as_text=True)
    assert 'name="actions-0-kind" value="set_field"' in html and 'name="actions-1-kind"' not in html
    with in_tenant(owner.tenant_id):
        assert db.session.scalars(select(Workflow)).all() == []


def test_an_invalid_workflow_is_refused_with_messages(client, owner):
    refused = client.post("/workflows/new", data={"name": "", "trigger_kind": "message.received",
                                                  "trigger-match": "regex", "trigger-value": "([",
                                                  "actions-0-kind": "add_tag", "actions-0-tag_id": "999999"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "HX-Request" in refused.vary
    for message in ("Enter a name for the workflow.", "The pattern does not read", "Tag: choose one of yours."):
        assert message in html
    empty = client.post("/workflows/new", data={"name": "x", "trigger_kind": "contact.created"})
    assert empty.status_code == 422 and "Add at least one action." in empty.get_data(as_text=True)


def test_save_enable_disable_delete_are_audited(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        tag_id = make_tag("lead").id
    saved = client.post("/workflows/new", data={"name": "Tag leads", "trigger_kind": "message.received",
                                                "trigger-match": "keyword", "trigger-value": "PRICE",
                                                "actions-0-kind": "add_tag", "actions-0-tag_id": str(tag_id)})
    assert saved.status_code == 303
    with in_tenant(owner.tenant_id):
        workflow = db.session.scalar(select(Workflow))
        assert (workflow.enabled, workflow.trigger_config, workflow.actions) == (
            False, {"match": "keyword", "value": "PRICE"}, [{"kind": "add_tag", "tag_id": tag_id}])
        workflow_id = workflow.id
    edit = client.get(f"/workflows/{workflow_id}/edit").get_data(as_text=True)
    assert 'value="PRICE"' in edit
    assert client.post(f"/workflows/{workflow_id}/edit", data={
        "name": "Tag leads 2", "trigger_kind": "message.received", "trigger-match": "any",
        "actions-0-kind": "add_tag", "actions-0-tag_id": str(tag_id)}).status_code == 303
    assert client.post(f"/workflows/{workflow_id}/enabled", data={"enabled": "1"}).status_code == 303
    assert workflow_row(in_tenant, owner.tenant_id, workflow_id).enabled
    assert "Disable" in client.get("/workflows/").get_data(as_text=True)
    assert client.post(f"/workflows/{workflow_id}/enabled", data={"enabled": "0"}).status_code == 303
    assert client.post(f"/workflows/{workflow_id}/delete").status_code == 303
    assert _audit(in_tenant, owner.tenant_id) == ["workflow.created", "workflow.updated", "workflow.enabled",
                                                  "workflow.disabled", "workflow.deleted"]
    with in_tenant(owner.tenant_id):
        assert db.session.scalars(select(Workflow)).all() == []


def test_the_keyword_preset_tags_on_the_keyword(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        tag_id, contact_id = make_tag("lead").id, make_contact().id
    refused = client.post("/workflows/presets/keyword-tag", data={"keyword": "", "tag_id": ""})
    assert refused.status_code == 422
    assert "Enter the keyword or pattern." in refused.get_data(as_text=True)
    assert client.post("/workflows/presets/keyword-tag", data={"keyword": "price", "tag_id": str(tag_id)}
                       ).status_code == 303
    with in_tenant(owner.tenant_id):
        workflow = db.session.scalar(select(Workflow))
        assert workflow.enabled and workflow.trigger_config == {"match": "keyword", "value": "price"}
    [run_id] = deliver(in_tenant, owner.tenant_id, event("message.received", contact_id,
                                                         data={"text": "What's the PRICE?"}))
    assert advance(in_tenant, owner.tenant_id, run_id) == "done"
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(ContactTag.tag_id).where(ContactTag.contact_id == contact_id)) == tag_id


def test_run_log_pages_show_each_step(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact(name="Rui Lima").id
    workflow_id = make_workflow(in_tenant, owner.tenant_id, [{"kind": "set_field", "field": "a", "value": "b"}],
                                name="Fields")
    [run_id] = deliver(in_tenant, owner.tenant_id, event("message.received", contact_id, data={"text": "hey"}))
    advance(in_tenant, owner.tenant_id, run_id)
    for url in (f"/workflows/{workflow_id}/runs", f"/workflows/runs/{run_id}"):
        html = client.get(url).get_data(as_text=True)
        assert "Rui Lima" in html and "message &#39;hey&#39; received" in html
        assert "1. Set a field: set a to &#39;b&#39;" in html and 'data-state="done"' in html


def test_the_dry_run_shows_what_would_happen_and_changes_nothing(sandbox_owner, client, in_tenant):
    tenant = sandbox_owner.tenant_id
    with in_tenant(tenant):
        tag_id = make_tag("lead").id
        contact_id, opted_id = make_contact(name="Ana Souza").id, make_contact(name="Out", opted_out=True).id
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "add_tag", "tag_id": tag_id},
                                                    {"kind": "send_text", "body": "Hi {{first_name}}"}])
    html = client.post(f"/workflows/{workflow_id}/test", data={"contact_id": str(contact_id)},
                       headers=HX).get_data(as_text=True)
    assert "would add: tag lead" in html and "would send: &#39;Hi Ana&#39;" in html and "<html" not in html
    html = client.post(f"/workflows/{workflow_id}/test", data={"contact_id": str(opted_id)}).get_data(as_text=True)
    assert "skipped: the contact opted out of messages" in html
    with in_tenant(tenant):
        assert db.session.scalars(select(Message)).all() == []
        assert db.session.scalars(select(ContactTag)).all() == []
        assert db.session.scalar(select(Contact.custom_fields).where(Contact.id == contact_id)) == {}
    assert client.post(f"/workflows/{workflow_id}/test", data={"contact_id": ""}).status_code == 422


def test_the_navigation_links_to_workflows(client, owner):
    assert 'href="/workflows/"' in client.get("/workflows/").get_data(as_text=True)
