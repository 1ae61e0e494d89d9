"""Every route with an id in its URL, walked as tenant B with tenant A's ids: always 404, nothing changes.

New routes are covered automatically; a route whose id parameter is not in OWNERS fails the
test until someone says which of tenant A's objects it takes.
"""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from extensions import db
from models.tenancy import TENANT_TABLES, unscoped
from tests.factories import link, make_contact, make_tag

# URL parameter name -> key into the ids built by `tenant_data`.
OWNERS = {
    "broadcast_id": "broadcast",
    "contact_id": "contact",
    "tag_id": "tag",
    "message_id": "message",
    "quick_reply_id": "quick_reply",
    "event_id": "webhook_event",
    "segment_id": "segment",
    "scheduled_id": "scheduled_message",
    "sequence_id": "drip_sequence",
    "step_id": "drip_step",
    "enrolment_id": "drip_enrolment",
    "import_id": "contact_import",
    "deal_id": "deal", "pipeline_id": "pipeline", "stage_id": "stage", "task_id": "task", "note_id": "note",
    "subscription_id": "webhook_subscription", "delivery_id": "webhook_delivery",
    "workflow_id": "workflow", "run_id": "workflow_run",
    # Admin routes: a workspace and its user; to anyone but a platform admin they answer 404 (see below).
    "tenant_id": "tenant",
    "user_id": "user",
    "key_id": "api_key",
}
ADMIN_PREFIX = "/admin/"
# REST API routes are walked with the workspace's bearer key instead of a session.
API_PREFIX = "/api/"


def tenant_data(in_tenant, tenant_id: int) -> dict[str, int]:
    """One of everything a route can address, owned by `tenant_id`."""
    from datetime import timedelta

    from models import DripEnrolment, DripSequence, DripStep, Message, QuickReply, ScheduledMessage, WebhookEvent
    from models.base import utcnow
    from models.broadcast import Broadcast, BroadcastRecipient
    from services.channels import ensure_channel
    from services.media_store import save_media
    from services.segments import save_segment

    with in_tenant(tenant_id):
        contact = make_contact(name="Owned contact", notes="keep me")
        tag = make_tag(name="owned-tag")
        link(contact, tag)
        # A failed outbound image with its file stored: retry, media and the thread all have work to do.
        message = Message(contact_id=contact.id, direction="out", type="image", status="failed", body="keep me",
                          media={"path": save_media(b"\xff\xd8\xff\xe0owned", "image/jpeg"), "mime_type": "image/jpeg",
                                 "filename": "owned.jpg", "size": 9})
        quick_reply = QuickReply(shortcut="owned", body="keep me")
        # A delivery that failed for good, so "run again" has something to act on.
        event = WebhookEvent(channel_id=ensure_channel("sandbox").id, source="sandbox", body="{}",
                             failed_at=utcnow(), error="KeyError: 'entry'", attempts=1)
        db.session.add_all([message, quick_reply, event])
        db.session.flush()
        segment = save_segment("Owned segment", {"version": 1, "conditions": [{"op": "tags_any", "tags": [tag.id]}]})
        # A draft with a recipient: its pages (the editor too) and every action have something to show or refuse.
        broadcast = Broadcast(name="Owned broadcast", status="draft", body="keep me",
                              audience={"kind": "all"})
        db.session.add(broadcast)
        db.session.flush()
        db.session.add(BroadcastRecipient(broadcast_id=broadcast.id, contact_id=contact.id,
                                          state="failed", reason="keep me"))
        scheduled = ScheduledMessage(contact_id=contact.id, body="keep me", due_at=utcnow() + timedelta(days=1))
        db.session.add(scheduled)
        db.session.flush()
        # A sequence with its tag, a step and an active enrolment: stop, restart, enrol and edits all have work.
        drip = DripSequence(name="Owned sequence", auto_enrol_tag_id=tag.id)
        db.session.add(drip)
        db.session.flush()
        step = DripStep(sequence_id=drip.id, position=1, delay_value=1, delay_unit="days", delay_from="previous",
                        body="keep me")
        db.session.add(step)
        db.session.flush()
        enrolment = DripEnrolment(sequence_id=drip.id, contact_id=contact.id, current_step_id=step.id,
                                  next_step_at=utcnow() + timedelta(days=1))
        db.session.add(enrolment)
        db.session.flush()
        from models import User

        user_id = db.session.scalar(select(User.id).where(User.tenant_id == tenant_id).order_by(User.id))
        contact_import = import_data()
        api_key = api_key_data()
        return {"contact": contact.id, "tag": tag.id, "contact_import": contact_import,
                "message": message.id, "quick_reply": quick_reply.id,
                "webhook_event": event.id, "segment": segment.id, "broadcast": broadcast.id,
                "scheduled_message": scheduled.id, "drip_sequence": drip.id, "drip_step": step.id,
                "drip_enrolment": enrolment.id, "tenant": tenant_id, "user": user_id, "api_key": api_key,
                **deal_data(contact), **outbound_webhook_data(), **workflow_data(contact, tag)}


def import_data() -> int:
    """A finished contact import with a refused row: its page, progress, mapping and errors CSV have content."""
    from models import ContactImport, ImportRowError

    item = ContactImport(filename="owned.csv", data=b"name,phone\nkeep me,12\n", size=22, encoding="utf-8",
                         delimiter=",", mapping={"0": "name", "1": "phone"}, state="done", total_rows=1, rows_done=1,
                         errors=1)
    db.session.add(item)
    db.session.flush()
    db.session.add(ImportRowError(import_id=item.id, line=2, raw="keep me,12", reason="keep me"))
    db.session.flush()
    return item.id


def api_key_data() -> int:
    """An API key of the workspace in scope, for the Settings › API routes."""
    from services.api_keys import create_key

    return create_key("Owned key", ["read", "write"], None)[0].id


def bearer(in_tenant, tenant_id: int) -> dict[str, str]:
    """Headers with a fresh read and write key of `tenant_id` (marked used, so walking it writes nothing)."""
    from models.base import utcnow
    from services.api_keys import create_key

    with in_tenant(tenant_id):
        key, secret = create_key("Walker", ["read", "write"], None)
        key.last_used_at = utcnow()
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def deal_data(contact) -> dict[str, int]:
    """A deal (with a task and a note) in the workspace's default pipeline, for the deals, tasks and notes routes."""
    from zoneinfo import ZoneInfo

    from services.deals import DealInput, all_pipelines, create_deal, stages_of
    from services.notes import add_note
    from services.tasks import create_task

    pipeline = all_pipelines()[0]
    stage = stages_of(pipeline)[0]
    deal = create_deal(DealInput(title="Owned deal", contact_id=contact.id, stage_id=stage.id, value="10"))
    task = create_task("keep me", None, ZoneInfo("UTC"), deal=deal)
    note = add_note(contact, "keep me", deal=deal)
    return {"deal": deal.id, "pipeline": pipeline.id, "stage": stage.id, "task": task.id, "note": note.id}


def outbound_webhook_data() -> dict[str, int]:
    """A webhook with a failed delivery and its logged attempt: every page and action has something to act on."""
    from datetime import timedelta

    from models import WebhookAttempt, WebhookDelivery
    from models.base import utcnow
    from services.outbound_webhooks import create_subscription

    subscription, _secret = create_subscription("https://93.184.216.34/hooks", ["message.received"])
    delivery = WebhookDelivery(subscription_id=subscription.id, event_id=1, event_kind="message.received",
                               payload={"keep": "me"}, state="failed", attempts=1,
                               retry_until=utcnow() + timedelta(days=1),
                               last_response_code=500, last_error="HTTP 500")
    db.session.add(delivery)
    db.session.flush()
    db.session.add(WebhookAttempt(delivery_id=delivery.id, number=1, response_code=500, error=None))
    db.session.flush()
    return {"webhook_subscription": subscription.id, "webhook_delivery": delivery.id}
def workflow_data(contact, tag) -> dict[str, int]:
    """An enabled workflow with a run waiting in its log, for the workflow routes."""
    from models import Workflow, WorkflowRun

    workflow = Workflow(name="Owned workflow", enabled=True, trigger_kind="tag.added", trigger_config={},
                        actions=[{"kind": "add_tag", "tag_id": tag.id}])
    db.session.add(workflow)
    db.session.flush()
    run = WorkflowRun(workflow_id=workflow.id, trigger_key="event:1", contact_id=contact.id, state="waiting",
                      log=[{"at": "2031-01-01T00:00:00+00:00", "step": "trigger", "ok": True, "text": "keep me"}])
    db.session.add(run)
    db.session.flush()
    return {"workflow": workflow.id, "workflow_run": run.id}


def snapshot(app) -> str:
    """A digest of every tenant row, to prove a request changed nothing."""
    rows = []
    with app.app_context(), unscoped():
        for table in sorted(TENANT_TABLES):
            model_table = db.metadata.tables[table]
            result = db.session.execute(select(model_table).order_by(*model_table.primary_key.columns))
            rows.append([table, [list(map(str, r)) for r in result]])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def id_rules(app):
    """Rules that take at least one integer id."""
    for rule in app.url_map.iter_rules():
        params = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IntegerConverter"]
        if params:
            yield rule, params


def test_every_id_parameter_is_known(app):
    unknown = {p for _rule, params in id_rules(app) for p in params if p not in OWNERS}
    assert not unknown, f"add these URL parameters to OWNERS: {sorted(unknown)}"


def test_other_tenant_gets_404_everywhere(app, create_user, login, in_tenant):
    owner, intruder = create_user(tenant_name="Owner"), create_user(tenant_name="Intruder")
    ids = tenant_data(in_tenant, owner.tenant_id)
    tenant_data(in_tenant, intruder.tenant_id)  # the intruder has objects of its own
    client = login(intruder, test_client=app.test_client())
    api_headers = bearer(in_tenant, intruder.tenant_id)
    before = snapshot(app)
    walked = 0
    for rule, params in id_rules(app):
        url = rule.build({p: ids[OWNERS[p]] for p in params})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if url.startswith(API_PREFIX):
                response = client.open(url, method=method, json={"name": "hijack", "tag_id": ids["tag"]},
                                       headers=api_headers)
            else:
                response = client.open(url, method=method, data={"name": "hijack", "tag_id": ids["tag"]})
            assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
            walked += 1
    assert walked >= 8
    assert snapshot(app) == before


def test_owner_reaches_the_same_urls(app, create_user, login, in_tenant):
    """The walk above is not vacuous: the owner's GETs succeed on the same ids (admin pages: a platform admin's)."""
    owner = create_user()
    admin = create_user(is_admin=True, tenant_name="Platform administration")
    ids = tenant_data(in_tenant, owner.tenant_id)
    client = login(owner, test_client=app.test_client())
    admin_client = login(admin, test_client=app.test_client())
    api_headers = bearer(in_tenant, owner.tenant_id)
    admin_rules = api_rules = 0
    for rule, params in id_rules(app):
        if "GET" in rule.methods:
            url = rule.build({p: ids[OWNERS[p]] for p in params})[1]
            if url.startswith(API_PREFIX):
                assert client.get(url, headers=api_headers).status_code == 200, url
                api_rules += 1
            elif url.startswith(ADMIN_PREFIX):
                # The workspace's own people do not even learn the admin console exists.
                assert client.get(url).status_code == 404, url
                assert admin_client.get(url).status_code == 200, url
                admin_rules += 1
            else:
                assert client.get(url).status_code == 200, url
    assert admin_rules >= 3 and api_rules >= 1
