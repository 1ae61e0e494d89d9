"""The import job: encodings and delimiters, mapping, both modes, refused rows with their lines, duplicates."""
from __future__ import annotations

import pytest

from tests.contact_import.helpers import contacts, csv_bytes, outcome, phone, start
from tests.factories import make_contact, make_tag

ROWS = [["Name", "Phone", "Email", "Tags", "City"],
        ["Zoë Müller", "(415) 200-0001", "zoe@example.com", "vip; berlin", "Köln"],
        ["Ana Núñez", "+1 415 200 0002", "", "", "São Paulo"]]


@pytest.mark.parametrize("encoding, bom, delimiter", [
    ("utf-8", False, ","), ("utf-8", True, ","), ("latin-1", False, ","),
    ("utf-8", False, ";"), ("utf-8", True, ";"), ("latin-1", False, ";"),
])
def test_each_encoding_and_delimiter_is_detected_and_read(app, owner, in_tenant, run_jobs, encoding, bom, delimiter):
    rows = [[cell.replace(";", "|") if delimiter == ";" else cell for cell in row] for row in ROWS]
    data = csv_bytes(rows, delimiter=delimiter, encoding=encoding, bom=bom)
    import_id = start(in_tenant, owner.tenant_id, data)
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.encoding, item.delimiter) == ({"utf-8": "utf-8-sig" if bom else "utf-8"}.get(encoding, encoding),
                                               delimiter)
    assert (item.state, item.rows_done, item.created, item.errors, refused) == ("done", 2, 2, 0, [])
    found = contacts(in_tenant, owner.tenant_id)
    zoe = found["+14152000001"]
    assert (zoe.name, zoe.email, zoe.custom_fields) == ("Zoë Müller", "zoe@example.com", {"City": "Köln"})
    assert sorted(t.name for t in zoe.tags) == ["berlin", "vip"]
    assert found["+14152000002"].custom_fields == {"City": "São Paulo"}


def test_bad_rows_are_reported_with_their_lines_and_good_rows_kept(app, owner, in_tenant, run_jobs):
    data = csv_bytes([["name", "phone", "email"],
                      ["Good One", phone(1), ""],
                      ["No Phone", "", ""],
                      ["Bad Phone", "12", ""],
                      ["", phone(2), ""],
                      ["Bad Mail", phone(3), "not-an-email"],
                      ["Twin", phone(1), ""],
                      ["Good Two", phone(4), "two@example.com"]])
    import_id = start(in_tenant, owner.tenant_id, data)
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert [line for line, _reason in refused] == [3, 4, 6, 7]
    reasons = dict(refused)
    assert reasons[3] == "No phone number."
    assert "“12”" in reasons[4]
    assert "not-an-email" in reasons[6]
    assert reasons[7] == f"Same phone number ({phone(1)}) as line 2."
    assert (item.state, item.rows_done, item.created, item.updated, item.errors) == ("done", 7, 3, 0, 4)
    found = contacts(in_tenant, owner.tenant_id)
    assert sorted(found) == [phone(1), phone(2), phone(4)]
    assert found[phone(2)].name == phone(2)  # no name in the file: the contact goes by its number


def test_create_only_leaves_existing_contacts_and_reports_them(app, owner, in_tenant, run_jobs):
    with in_tenant(owner.tenant_id):
        make_contact(name="Kept", phone=phone(1), email="kept@example.com")
    import_id = start(in_tenant, owner.tenant_id, csv_bytes([["name", "phone", "email"],
                                                             ["Changed", phone(1), "new@example.com"],
                                                             ["Fresh", phone(2), ""]]))
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.created, item.updated, item.errors) == (1, 0, 1)
    assert refused == [(2, f"{phone(1)} is already a contact (this import creates new contacts only).")]
    found = contacts(in_tenant, owner.tenant_id)
    assert (found[phone(1)].name, found[phone(1)].email) == ("Kept", "kept@example.com")


def test_update_by_phone_changes_what_the_file_has_and_keeps_the_rest(app, owner, in_tenant, run_jobs):
    with in_tenant(owner.tenant_id):
        make_contact(name="Old Name", phone=phone(1), email="old@example.com",
                     custom_fields={"plan": "basic", "city": "Lyon"})
        make_contact(name="Nameless Keeps", phone=phone(3))
        vip = make_tag(name="vip").id
    data = csv_bytes([["name", "phone", "email", "plan"],
                      ["New Name", phone(1), "", "gold"],
                      ["Fresh", phone(2), "fresh@example.com", ""],
                      ["", phone(3), "n@example.com", ""]])
    import_id = start(in_tenant, owner.tenant_id, data, mode="upsert", tag_ids=[vip])
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.created, item.updated, item.errors, refused) == (1, 2, 0, [])
    found = contacts(in_tenant, owner.tenant_id)
    updated = found[phone(1)]
    assert (updated.name, updated.email) == ("New Name", "old@example.com")
    assert updated.custom_fields == {"plan": "gold", "city": "Lyon"}
    assert found[phone(3)].name == "Nameless Keeps" and found[phone(3)].email == "n@example.com"
    assert all([t.name for t in c.tags] == ["vip"] for c in found.values())


def test_the_mapping_chooses_the_columns(app, owner, in_tenant, run_jobs):
    data = csv_bytes([["Customer", "Mobile", "Note", "Ignored"], ["Mapped", phone(7), "likes tea", "x"]])
    import_id = start(in_tenant, owner.tenant_id, data,
                      mapping={"0": "name", "1": "phone", "2": "custom:note", "3": ""})
    run_jobs()
    contact = contacts(in_tenant, owner.tenant_id)[phone(7)]
    assert (contact.name, contact.custom_fields) == ("Mapped", {"note": "likes tea"})
    assert outcome(in_tenant, owner.tenant_id, import_id)[0].created == 1


def test_phones_use_the_workspace_region(app, owner, in_tenant, run_jobs):
    from models import Tenant

    with in_tenant(owner.tenant_id) as session:
        session.get(Tenant, owner.tenant_id).default_region = "GB"
    start(in_tenant, owner.tenant_id, csv_bytes([["name", "phone"], ["Brit", "020 7946 0018"]]))
    run_jobs()
    assert list(contacts(in_tenant, owner.tenant_id)) == ["+442079460018"]


def test_an_import_records_created_updated_and_tagged_contacts_as_domain_events(app, owner, in_tenant, run_jobs,
                                                                              someone_listens):
    import json

    from sqlalchemy import select

    from models import DomainEvent, Tag

    with in_tenant(owner.tenant_id):
        known = make_contact(name="Known", phone=phone(1)).id
        vip = make_tag(name="vip").id
    data = csv_bytes([["name", "phone", "tags"], ["Known", phone(1), "lead"], ["New", phone(2), ""]])
    start(in_tenant, owner.tenant_id, data, mode="upsert", tag_ids=[vip])
    run_jobs()
    new = contacts(in_tenant, owner.tenant_id)[phone(2)].id
    with in_tenant(owner.tenant_id) as session:
        lead = session.scalar(select(Tag.id).where(Tag.name == "lead"))
        recorded = {(e.kind, e.contact_id, e.subject_id, json.dumps(e.data, sort_keys=True))
                    for e in session.scalars(select(DomainEvent))}
    assert recorded == {
        ("contact.created", new, None, '{"source": "import"}'),
        ("contact.updated", known, None, '{"fields": ["name", "phone"]}'),
        ("tag.added", known, vip, '{"tag": "vip"}'), ("tag.added", known, lead, '{"tag": "lead"}'),
        ("tag.added", new, vip, '{"tag": "vip"}'),
    }


def test_creating_only_records_every_tag_of_each_new_contact_and_nothing_for_refused_rows(app, owner, in_tenant,
                                                                                          run_jobs, someone_listens):
    import json

    from sqlalchemy import select

    from models import DomainEvent, Tag

    with in_tenant(owner.tenant_id):
        known = make_contact(name="Known", phone=phone(1)).id
        vip = make_tag(name="vip").id
    data = csv_bytes([["name", "phone", "tags"], ["Known", phone(1), "lead"], ["New", phone(2), "lead, vip"],
                      ["Other", phone(3), ""]])
    start(in_tenant, owner.tenant_id, data, mode="create", tag_ids=[vip])
    run_jobs()
    found = contacts(in_tenant, owner.tenant_id)
    new, other = found[phone(2)].id, found[phone(3)].id
    with in_tenant(owner.tenant_id) as session:
        lead = session.scalar(select(Tag.id).where(Tag.name == "lead"))
        recorded = sorted((e.kind, e.contact_id, e.subject_id, json.dumps(e.data, sort_keys=True))
                          for e in session.scalars(select(DomainEvent)))
    assert recorded == sorted([
        ("contact.created", new, None, '{"source": "import"}'),
        ("contact.created", other, None, '{"source": "import"}'),
        ("tag.added", new, vip, '{"tag": "vip"}'), ("tag.added", new, lead, '{"tag": "lead"}'),
        ("tag.added", other, vip, '{"tag": "vip"}'),
    ])
    assert [t.name for t in found[phone(1)].tags] == [] and known == found[phone(1)].id
