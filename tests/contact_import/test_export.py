"""The contacts export: all contacts, a tag, a segment or a search, with tags and custom fields, streamed, audited."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from models import AuditEvent
from services.segments import save_segment
from tests.factories import link, make_contact, make_tag


@pytest.fixture
def people(owner, in_tenant):
    """Three contacts: Ann (vip, city Oslo), Bob (vip, a formula for a name), Cy (no tags, plan gold)."""
    with in_tenant(owner.tenant_id):
        vip = make_tag(name="vip")
        berlin = make_tag(name="berlin")
        ann = make_contact(name="Ann Lee", phone="+14152000001", email="ann@example.com",
                           custom_fields={"city": "Oslo"})
        bob = make_contact(name="=Bob()", phone="+14152000002")
        make_contact(name="Cy Wu", phone="+14152000003", custom_fields={"plan": "gold", "email": "x@example.com"})
        link(ann, vip)
        link(ann, berlin)
        link(bob, vip)
        segment = save_segment("Gold", {"version": 1, "conditions": [{"op": "custom_equals", "key": "plan",
                                                                       "text": "gold"}]})
        return {"vip": vip.id, "segment": segment.id}


def _export(client, login, owner, query: str = ""):
    login(owner)
    response = client.get(f"/contacts/export.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_all_contacts_with_tags_and_custom_fields(client, login, owner, people):
    rows = _export(client, login, owner)
    assert list(rows[0]) == ["id", "name", "phone", "email", "tags", "opted_out", "created_at", "city",
                             "custom:email", "plan"]
    assert [(r["name"], r["phone"], r["tags"], r["city"], r["plan"]) for r in rows] == [
        ("Ann Lee", "+14152000001", "berlin, vip", "Oslo", ""),
        ("'=Bob()", "+14152000002", "vip", "", ""),  # a spreadsheet would run it: defused
        ("Cy Wu", "+14152000003", "", "", "gold")]
    assert rows[2]["custom:email"] == "x@example.com" and rows[2]["email"] == ""


@pytest.mark.parametrize("kind, query, names", [
    ("tag", "?tag={vip}", ["Ann Lee", "'=Bob()"]),
    ("segment", "?segment={segment}", ["Cy Wu"]),
    ("search", "?q=lee", ["Ann Lee"]),
])
def test_each_audience_exports_only_its_contacts_and_is_audited(client, login, owner, people, in_tenant, app,
                                                                 kind, query, names):
    rows = _export(client, login, owner, query.format(**people))
    assert [r["name"] for r in rows] == names
    with in_tenant(owner.tenant_id) as session:
        entry = session.scalars(select(AuditEvent).where(AuditEvent.action == "contacts.exported")).one()
        assert entry.changes["audience"] == kind and entry.changes["rows"] == len(names)
        assert entry.actor_id == owner.id


def test_the_audit_entry_names_the_filters(client, login, owner, people, in_tenant):
    _export(client, login, owner, f"?q=lee&tag={people['vip']}")
    with in_tenant(owner.tenant_id) as session:
        entry = session.scalars(select(AuditEvent).where(AuditEvent.action == "contacts.exported")).one()
        assert entry.changes == {"audience": "tag", "search": "lee", "tag": "vip", "rows": 1}


def test_another_workspaces_tag_or_segment_is_unknown(client, login, owner, create_user, in_tenant, people):
    other = create_user()
    with in_tenant(other.tenant_id):
        theirs = make_tag(name="theirs").id
    login(owner)
    assert client.get(f"/contacts/export.csv?tag={theirs}").status_code == 404
    assert client.get(f"/contacts/export.csv?segment={people['segment'] + 1000}").status_code == 404


def test_an_exported_file_imports_again_as_updates_that_change_nothing(client, login, owner, people, in_tenant,
                                                                       run_jobs):
    from tests.contact_import.helpers import contacts, outcome, start

    login(owner)
    exported = client.get("/contacts/export.csv").get_data()
    before = {phone: (c.name, c.email, c.custom_fields, sorted(t.name for t in c.tags))
              for phone, c in contacts(in_tenant, owner.tenant_id).items()}
    # The guessed mapping takes the file's own columns back (the id and dates become custom fields: left out).
    mapping = {"1": "name", "2": "phone", "3": "email", "4": "tags", "7": "custom:city", "9": "custom:plan"}
    import_id = start(in_tenant, owner.tenant_id, exported, mapping=mapping, mode="upsert")
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.created, item.updated, refused) == (0, 3, [])
    after = {phone: (c.name, c.email, c.custom_fields, sorted(t.name for t in c.tags))
             for phone, c in contacts(in_tenant, owner.tenant_id).items()}
    # The formula's name too: the apostrophe that kept a spreadsheet from running it is taken off again.
    assert after == before
