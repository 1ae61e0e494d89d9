"""Each trigger kind starts runs for the events it names and only those; a redelivered event starts one run."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from extensions import db
from jobs.workflows import fire_daily_workflows
from models import Tenant, Workflow
from tests.factories import link, make_contact, make_tag
from tests.workflows.helpers import deliver, event, make_workflow, runs, texts

TAG = [{"kind": "set_field", "field": "seen", "value": "yes"}]


@pytest.mark.parametrize("match, value, text, fires", [
    ("keyword", "PRICE", "what is the price?", True),
    ("keyword", "PRICE", "PRICES please", False),        # a whole word, not a part of one
    ("keyword", "price list", "send the Price List", True),
    ("regex", r"order\s*#?\d+", "where is order #123", True),
    ("regex", r"^hi$", "hi there", False),
    ("any", "", "anything at all", True),
])
def test_message_received_matches_any_keyword_or_pattern(owner, in_tenant, match, value, text, fires):
    workflow_id = make_workflow(in_tenant, owner.tenant_id, TAG, trigger={"match": match, "value": value})
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    started = deliver(in_tenant, owner.tenant_id, event("message.received", contact_id, data={"text": text}))
    assert bool(started) is fires
    if fires:
        assert "trigger: message" in texts(runs(in_tenant, owner.tenant_id, workflow_id)[0])[0]


@pytest.mark.parametrize("kind, subject_key", [("tag.added", "tag_id"), ("tag.removed", "tag_id"),
                                               ("drip.completed", "sequence_id")])
def test_subject_triggers_fire_for_their_object_or_any(owner, in_tenant, kind, subject_key):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
        wanted, other = make_tag().id, make_tag().id
    if subject_key == "sequence_id":
        from tests.drips.helpers import make_sequence
        wanted = make_sequence(in_tenant, owner.tenant_id, [(0, "minutes", "previous", "Hi")], name="A")
        other = make_sequence(in_tenant, owner.tenant_id, [(0, "minutes", "previous", "Hi")], name="B")
    specific = make_workflow(in_tenant, owner.tenant_id, TAG, trigger_kind=kind, trigger={subject_key: wanted})
    anything = make_workflow(in_tenant, owner.tenant_id, TAG, trigger_kind=kind, trigger={})
    deliver(in_tenant, owner.tenant_id, event(kind, contact_id, subject_id=other))
    assert [len(runs(in_tenant, owner.tenant_id, w)) for w in (specific, anything)] == [0, 1]
    deliver(in_tenant, owner.tenant_id, event(kind, contact_id, subject_id=wanted))
    assert [len(runs(in_tenant, owner.tenant_id, w)) for w in (specific, anything)] == [1, 2]


def test_contact_created_and_deal_stage_changed(owner, in_tenant):
    from services.deals import all_pipelines, stages_of
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
        new, won = [s.id for s in stages_of(all_pipelines()[0])][:2]
    created = make_workflow(in_tenant, owner.tenant_id, TAG, trigger_kind="contact.created", trigger={})
    moved = make_workflow(in_tenant, owner.tenant_id, TAG, trigger_kind="deal.stage_changed", trigger={"stage_id": won})
    deliver(in_tenant, owner.tenant_id, event("contact.created", contact_id, data={"source": "ui"}))
    deliver(in_tenant, owner.tenant_id, event("deal.stage_changed", contact_id, subject_id=1,
                                              data={"from_stage_id": None, "to_stage_id": new}))
    assert len(runs(in_tenant, owner.tenant_id, created)) == 1
    assert runs(in_tenant, owner.tenant_id, moved) == []
    deliver(in_tenant, owner.tenant_id, event("deal.stage_changed", contact_id, subject_id=1,
                                              data={"from_stage_id": new, "to_stage_id": won}))
    assert len(runs(in_tenant, owner.tenant_id, moved)) == 1


def test_a_disabled_workflow_and_an_event_without_contact_start_nothing(owner, in_tenant):
    make_workflow(in_tenant, owner.tenant_id, TAG, enabled=False)
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    assert deliver(in_tenant, owner.tenant_id, event("message.received", contact_id, data={"text": "x"})) == []
    make_workflow(in_tenant, owner.tenant_id, TAG)
    assert deliver(in_tenant, owner.tenant_id, event("message.received", None, data={"text": "x"})) == []


def test_an_event_delivered_twice_starts_one_run(owner, in_tenant):
    workflow_id = make_workflow(in_tenant, owner.tenant_id, TAG)
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    evt = event("message.received", contact_id, data={"text": "hello"})
    assert len(deliver(in_tenant, owner.tenant_id, evt)) == 1
    assert deliver(in_tenant, owner.tenant_id, evt) == []  # at-least-once delivery: the second is a no-op
    assert len(runs(in_tenant, owner.tenant_id, workflow_id)) == 1


def test_daily_trigger_fires_once_a_day_at_local_time_for_tagged_contacts(app, owner, in_tenant):
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == owner.tenant_id).values(time_zone="America/Sao_Paulo"))
        db.session.commit()
    with in_tenant(owner.tenant_id):
        tag = make_tag()
        tagged, untagged = make_contact(), make_contact()
        link(tagged, tag)
        tagged_id, tag_id = tagged.id, tag.id
        assert untagged.id
    workflow_id = make_workflow(in_tenant, owner.tenant_id, TAG, trigger_kind="schedule.daily",
                                trigger={"time": "09:00", "tag_id": tag_id})
    before = datetime(2031, 3, 5, 11, 59, tzinfo=UTC)      # 08:59 in São Paulo (UTC-3)
    at = datetime(2031, 3, 5, 12, 0, tzinfo=UTC)
    assert fire_daily_workflows(now=before) == 0
    assert fire_daily_workflows(now=at) == 1
    assert fire_daily_workflows(now=at.replace(minute=30)) == 0   # once a day
    started = runs(in_tenant, owner.tenant_id, workflow_id)
    assert [r.contact_id for r in started] == [tagged_id]
    assert fire_daily_workflows(now=datetime(2031, 3, 6, 12, 1, tzinfo=UTC)) == 1   # the next day
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(Workflow.daily_done_on).where(Workflow.id == workflow_id)).day == 6
