"""/api/v1/contacts and /api/v1/tags: every endpoint, validation, duplicates, paging, other workspaces' ids."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Contact, Tenant
from models.tenancy import tenant_scope
from tests.api.conftest import fields_of, problem_of
from tests.factories import link, make_contact, make_tag


def test_create_get_update_delete(app, api):
    created = api.post("/contacts", json={"name": "Ann", "phone": "(415) 555-0100", "email": "ANN@x.io",
                                          "custom_fields": {"plan": "gold"}, "notes": "met at the fair"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["phone"] == "+14155550100" and body["email"] == "ann@x.io" and body["custom_fields"] == {"plan": "gold"}
    contact_id = body["id"]
    assert api.get(f"/contacts/{contact_id}").get_json()["name"] == "Ann"
    updated = api.patch(f"/contacts/{contact_id}", json={"name": "Ann B", "email": None})
    assert updated.status_code == 200
    assert updated.get_json()["name"] == "Ann B" and updated.get_json()["email"] is None
    assert updated.get_json()["phone"] == "+14155550100" and updated.get_json()["custom_fields"] == {"plan": "gold"}
    assert api.delete(f"/contacts/{contact_id}").get_json() == {"id": contact_id, "deleted": True}
    problem_of(api.get(f"/contacts/{contact_id}"), 404)
    with app.app_context(), tenant_scope(api.tenant_id):
        assert db.session.scalar(select(func.count(Contact.id))) == 0


def test_validation_errors_name_their_fields(api):
    body = problem_of(api.post("/contacts", json={"name": "Ann"}), 422)
    assert "phone" in fields_of(body)
    body = problem_of(api.post("/contacts", json={"name": "", "phone": "12", "email": "nope"}), 422)
    assert {"name", "phone", "email"} <= set(fields_of(body))
    body = problem_of(api.post("/contacts", data="not json", content_type="application/json"), 422)
    assert fields_of(body)
    problem_of(api.get("/contacts?limit=0"), 422)
    assert "cursor" in fields_of(problem_of(api.get("/contacts?cursor=abc"), 422))


def test_a_taken_phone_is_a_409(api):
    assert api.post("/contacts", json={"name": "Ann", "phone": "+14155550100"}).status_code == 201
    body = problem_of(api.post("/contacts", json={"name": "Bob", "phone": "+1 415 555 0100"}), 409)
    assert "already belongs to Ann" in fields_of(body)["phone"]
    other = api.post("/contacts", json={"name": "Bob", "phone": "+14155550101"}).get_json()["id"]
    problem_of(api.patch(f"/contacts/{other}", json={"phone": "+14155550100"}), 409)


def test_the_contact_quota_applies(app, api):
    with app.app_context():
        db.session.get(Tenant, api.tenant_id).quota_contacts = 1
        db.session.commit()
    assert api.post("/contacts", json={"name": "Ann", "phone": "+14155550100"}).status_code == 201
    body = problem_of(api.post("/contacts", json={"name": "Bob", "phone": "+14155550101"}), 403)
    assert "limit of 1 contacts" in body["detail"]


def test_list_filters_and_cursor_pages(app, api):
    with app.app_context(), tenant_scope(api.tenant_id):
        vip = make_tag("vip")
        contacts = [make_contact(name=f"Person {n}") for n in range(7)]
        for contact in contacts[:3]:
            link(contact, vip)
        db.session.commit()
        vip_id = vip.id
    seen, cursor = [], None
    while True:
        page = api.get("/contacts", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Person {n}" for n in reversed(range(7))]
    tagged = api.get("/contacts", query_string={"tag_id": vip_id}).get_json()["items"]
    assert sorted(c["name"] for c in tagged) == ["Person 0", "Person 1", "Person 2"]
    assert [c["name"] for c in api.get("/contacts?q=person 4").get_json()["items"]] == ["Person 4"]


def test_tags_on_a_contact(app, api):
    tag = api.post("/tags", json={"name": "VIP", "color": "#112233"})
    assert tag.status_code == 201
    tag_id = tag.get_json()["id"]
    problem_of(api.post("/tags", json={"name": "vip"}), 409)
    problem_of(api.post("/tags", json={"name": "x", "color": "red"}), 422)
    contact_id = api.post("/contacts", json={"name": "Ann", "phone": "+14155550100"}).get_json()["id"]
    tagged = api.post(f"/contacts/{contact_id}/tags", json={"tag_id": tag_id})
    assert [t["name"] for t in tagged.get_json()["tags"]] == ["VIP"]
    assert api.get("/tags").get_json()["items"] == [{"id": tag_id, "name": "VIP", "color": "#112233", "contacts": 1}]
    untagged = api.delete(f"/contacts/{contact_id}/tags/{tag_id}")
    assert untagged.status_code == 200 and untagged.get_json()["tags"] == []
    assert "tag_id" in fields_of(problem_of(api.post(f"/contacts/{contact_id}/tags", json={"tag_id": 999}), 422))


def test_a_tag_name_the_database_folds_differently_is_still_a_duplicate(api):
    # SQLite's lower() folds ASCII only, so the check before the insert misses; the unique index answers.
    assert api.post("/tags", json={"name": "ÖL"}).status_code == 201
    problem_of(api.post("/tags", json={"name": "ÖL"}), 409)
    assert [t["name"] for t in api.get("/tags").get_json()["items"]] == ["ÖL"]


def test_another_workspaces_ids_are_404_and_nothing_changes(app, api, other_api):
    with app.app_context(), tenant_scope(other_api.tenant_id):
        theirs, their_tag = make_contact(name="Theirs"), make_tag("theirs")
        db.session.commit()
        contact_id, tag_id = theirs.id, their_tag.id
    mine = api.post("/contacts", json={"name": "Mine", "phone": "+14155550199"}).get_json()["id"]
    problem_of(api.get(f"/contacts/{contact_id}"), 404)
    problem_of(api.patch(f"/contacts/{contact_id}", json={"name": "Hacked"}), 404)
    problem_of(api.delete(f"/contacts/{contact_id}"), 404)
    problem_of(api.post(f"/contacts/{contact_id}/tags", json={"tag_id": tag_id}), 404)
    problem_of(api.delete(f"/contacts/{mine}/tags/{tag_id}"), 404)
    problem_of(api.post(f"/contacts/{mine}/tags", json={"tag_id": tag_id}), 422)
    assert api.get("/contacts", query_string={"tag_id": tag_id}).get_json()["items"] == []
    problem_of(api.patch(f"/contacts/{mine}", json={"tag_ids": [tag_id]}), 422)
    their = other_api.get(f"/contacts/{contact_id}").get_json()
    assert their["name"] == "Theirs" and their["tags"] == []
