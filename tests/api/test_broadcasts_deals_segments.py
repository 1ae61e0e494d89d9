"""/api/v1 broadcasts, segments and deals: every endpoint, refusals, and other workspaces' ids."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from extensions import db
from models import AuditEvent, DealHistory
from models.tenancy import tenant_scope
from services.segments import save_segment
from tests.api.conftest import fields_of, problem_of
from tests.factories import link, make_contact, make_tag


def test_a_broadcast_is_drafted_scheduled_followed_and_cancelled(app, api):
    with app.app_context(), tenant_scope(api.tenant_id):
        make_contact(name="Ann")
        db.session.commit()
    send_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    created = api.post("/broadcasts", json={"name": "Sale", "text": "Hi {{first_name}}",
                                            "send_at": send_at.isoformat()})
    assert created.status_code == 201, created.get_json()
    broadcast = created.get_json()
    assert broadcast["status"] == "draft" and broadcast["scheduled_at"].startswith(send_at.strftime("%Y-%m-%dT%H:%M"))
    scheduled = api.post(f"/broadcasts/{broadcast['id']}/schedule")
    assert scheduled.status_code == 200 and scheduled.get_json()["status"] == "scheduled"
    problem_of(api.post(f"/broadcasts/{broadcast['id']}/schedule"), 409)
    cancelled = api.post(f"/broadcasts/{broadcast['id']}/cancel")
    assert cancelled.get_json()["status"] == "cancelled"
    assert api.get(f"/broadcasts/{broadcast['id']}").get_json()["finished_at"] is not None
    problem_of(api.post(f"/broadcasts/{broadcast['id']}/cancel"), 409)
    # The audit log names the key that acted.
    with app.app_context(), tenant_scope(api.tenant_id):
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "broadcast.cancelled"))
        assert (event.actor_kind, event.actor_label) == (AuditEvent.API_KEY, "Integration")


def test_a_broadcast_started_now_snapshots_its_audience(app, api):
    with app.app_context(), tenant_scope(api.tenant_id):
        vip = make_tag("vip")
        link(make_contact(name="Ann"), vip)
        make_contact(name="Bob")
        db.session.commit()
        vip_id = vip.id
    created = api.post("/broadcasts", json={"name": "VIPs", "text": "Hello", "audience": {"kind": "tags",
                                                                                         "tag_ids": [vip_id]}})
    started = api.post(f"/broadcasts/{created.get_json()['id']}/schedule").get_json()
    assert started["status"] == "sending" and started["recipients"] == 1


def test_a_refused_broadcast_names_its_fields(api):
    body = problem_of(api.post("/broadcasts", json={"name": "", "audience": {"kind": "segment"}}), 422)
    assert {"name", "segment_id", "body"} <= set(fields_of(body))
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = api.post("/broadcasts", json={"name": "x", "text": "y", "send_at": past})
    assert "day" in fields_of(problem_of(refused, 422))
    problem_of(api.post("/broadcasts", json={"name": "x", "text": "y", "send_at": "2030-01-01T10:00:00"}), 422)


def test_segments_and_their_members(app, api):
    with app.app_context(), tenant_scope(api.tenant_id):
        vip = make_tag("vip")
        for n in range(3):
            link(make_contact(name=f"VIP {n}"), vip)
        make_contact(name="Other")
        segment = save_segment("VIPs", {"version": 1, "conditions": [{"op": "tags_any", "tags": [vip.id]}]})
        db.session.commit()
        segment_id = segment.id
    [listed] = api.get("/segments").get_json()["items"]
    assert (listed["id"], listed["name"], listed["contacts"], listed["reachable"]) == (segment_id, "VIPs", 3, 3)
    first = api.get(f"/segments/{segment_id}/members?limit=2").get_json()
    rest = api.get(f"/segments/{segment_id}/members", query_string={"cursor": first["next_cursor"]}).get_json()
    assert [c["name"] for c in first["items"] + rest["items"]] == ["VIP 2", "VIP 1", "VIP 0"]
    assert rest["next_cursor"] is None


def test_deals_are_listed_created_and_moved(app, api):
    contact = api.post("/contacts", json={"name": "Ann", "phone": "+14155550100"}).get_json()["id"]
    [pipeline] = api.get("/pipelines").get_json()["items"]
    first, second = pipeline["stages"][0]["id"], pipeline["stages"][1]["id"]
    created = api.post("/deals", json={"title": "Big order", "contact_id": contact, "stage_id": first,
                                       "value": "1250.5", "currency": "EUR"})
    assert created.status_code == 201, created.get_json()
    deal = created.get_json()
    assert (deal["value"], deal["currency"], deal["stage_id"]) == ("1250.50", "EUR", first)
    moved = api.post(f"/deals/{deal['id']}/move", json={"stage_id": second})
    assert moved.status_code == 200 and moved.get_json()["stage_id"] == second
    with app.app_context(), tenant_scope(api.tenant_id):
        assert [h.to_stage_id for h in db.session.scalars(select(DealHistory).order_by(DealHistory.id))] == [
            first, second]
    assert [d["id"] for d in api.get(f"/deals?stage_id={second}").get_json()["items"]] == [deal["id"]]
    assert api.get(f"/deals?stage_id={first}").get_json()["items"] == []
    assert api.get(f"/deals/{deal['id']}").get_json()["title"] == "Big order"
    assert "stage_id" in fields_of(problem_of(api.post(f"/deals/{deal['id']}/move", json={"stage_id": 99999}), 422))
    body = problem_of(api.post("/deals", json={"title": "", "contact_id": 99999, "stage_id": first}), 422)
    assert {"title", "contact_id"} <= set(fields_of(body))


def test_another_workspaces_broadcasts_segments_and_deals_are_404(app, api, other_api):
    contact = other_api.post("/contacts", json={"name": "Theirs", "phone": "+14155550100"}).get_json()["id"]
    stage = other_api.get("/pipelines").get_json()["items"][0]["stages"][0]["id"]
    deal = other_api.post("/deals", json={"title": "Theirs", "contact_id": contact, "stage_id": stage}).get_json()
    broadcast = other_api.post("/broadcasts", json={"name": "Theirs", "text": "x"}).get_json()["id"]
    with app.app_context(), tenant_scope(other_api.tenant_id):
        segment_id = save_segment("Theirs", {"version": 1, "conditions": []}).id
        db.session.commit()
    for method, path in [("get", f"/broadcasts/{broadcast}"), ("post", f"/broadcasts/{broadcast}/schedule"),
                         ("post", f"/broadcasts/{broadcast}/cancel"), ("get", f"/segments/{segment_id}/members"),
                         ("get", f"/deals/{deal['id']}")]:
        problem_of(getattr(api, method)(path), 404)
    problem_of(api.post(f"/deals/{deal['id']}/move", json={"stage_id": stage}), 404)
    mine = api.post("/contacts", json={"name": "Mine", "phone": "+14155550101"}).get_json()["id"]
    assert "stage_id" in fields_of(problem_of(api.post("/deals", json={"title": "x", "contact_id": mine,
                                                                       "stage_id": stage}), 422))
    assert api.get(f"/deals?pipeline_id={deal['pipeline_id']}").get_json()["items"] == []
    assert api.get("/segments").get_json()["items"] == []
    assert other_api.get(f"/broadcasts/{broadcast}").get_json()["status"] == "draft"
