"""Exports are on the audit log: the deals CSV writes "deals.exported" with its pipeline, filters and row count,
in the exporting workspace only. (The app has no bulk delete: contacts, tags and segments are deleted one by one.)"""
from __future__ import annotations

from extensions import db
from models import Tag
from tests.deals.conftest import make_deal, stages
from tests.factories import make_contact


def test_the_deals_export_is_recorded_with_its_filters_and_row_count(app, create_user, login, in_tenant,
                                                                     audit_entries):
    owner, other = create_user(), create_user()
    with in_tenant(other.tenant_id):
        for _ in range(3):
            make_deal(make_contact(), stages()[0], "Other's deal")
    with in_tenant(owner.tenant_id):
        tag = Tag(name="VIP")
        db.session.add(tag)
        db.session.flush()
        make_deal(make_contact(), stages()[0], "First")
        make_deal(make_contact(), stages()[1], "Second")
        make_deal(make_contact(), stages()[1], "Third")
        tag_id, stage_id = tag.id, stages()[1].id
    client = login(owner, test_client=app.test_client())
    body = client.get("/deals/export.csv").get_data(as_text=True)
    assert body.count("\n") == 4  # header and three deals
    assert client.get(f"/deals/export.csv?stage={stage_id}").status_code == 200
    everything, by_stage = audit_entries("deals.exported")
    assert everything["tenant_id"] == by_stage["tenant_id"] == owner.tenant_id
    assert (everything["actor_kind"], everything["actor_id"]) == ("user", owner.id)
    assert everything["target_type"] == "pipelines"
    assert everything["changes"]["rows"] == 3 and everything["changes"]["filters"] is None
    assert by_stage["changes"]["rows"] == 2 and by_stage["changes"]["filters"] == {"stage": str(stage_id)}
    assert client.get(f"/deals/export.csv?tag={tag_id}").status_code == 200  # a tag no contact has
    assert audit_entries("deals.exported")[-1]["changes"]["rows"] == 0

    own_log = client.get("/settings/audit").get_data(as_text=True)
    assert "<code>deals.exported</code>" in own_log
    others_log = login(other, test_client=app.test_client()).get("/settings/audit").get_data(as_text=True)
    assert "<code>deals.exported</code>" not in others_log
