"""A message from the sandbox phone fires a keyword workflow through the inbound path and the event outbox."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Contact
from tests.workflows.helpers import make_workflow, runs, texts


def test_a_keyword_message_from_the_phone_runs_the_workflow(app, sandbox_owner, in_tenant, run_jobs):
    tenant = sandbox_owner.tenant_id
    workflow_id = make_workflow(in_tenant, tenant, [{"kind": "set_field", "field": "asked", "value": "price"}],
                                trigger={"match": "keyword", "value": "PRICE"})
    phone = app.test_client()
    assert phone.post(sandbox_owner.phone_page + "/inbound", data={"from_number": "+14155550142", "name": "Pia Price",
                                                                   "text": "What is the price?"}).status_code == 303
    for _ in range(3):
        run_jobs()
    [run] = runs(in_tenant, tenant, workflow_id)
    assert run.state == "done", texts(run)
    with in_tenant(tenant):
        assert db.session.scalar(select(Contact.custom_fields).where(Contact.name == "Pia Price")) == {"asked": "price"}

