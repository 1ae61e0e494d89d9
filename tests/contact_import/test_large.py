"""A 100,000-row file goes through in one queued job (several chunks), every good row stored, every bad one reported."""
from __future__ import annotations

from sqlalchemy import func, select

from models import Contact, ContactTag, Tenant
from tests.contact_import.helpers import csv_bytes, outcome, start

ROWS = 100_000


def test_a_100000_row_file_with_bad_rows_is_imported_in_chunks(app, owner, in_tenant, run_jobs):
    rows = [["name", "phone", "email", "tags"]]
    for n in range(ROWS):
        # Every 20th row is bad (5%): a phone too short to be one.
        rows.append([f"Person {n}", f"+1415{2000000 + n:07d}" if n % 20 else f"55{n}", f"p{n}@example.com",
                     "imported"])
    with in_tenant(owner.tenant_id) as session:
        session.get(Tenant, owner.tenant_id).quota_contacts = ROWS  # the default (50,000) would refuse it
    import_id = start(in_tenant, owner.tenant_id, csv_bytes(rows))
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    bad = ROWS // 20
    assert (item.state, item.total_rows, item.rows_done, item.created, item.errors) == (
        "done", ROWS, ROWS, ROWS - bad, bad)
    assert [line for line, _reason in refused[:3]] == [2, 22, 42] and refused[-1][0] == ROWS - 19 + 1
    with in_tenant(owner.tenant_id) as session:
        assert session.scalar(select(func.count(Contact.id))) == ROWS - bad
        assert session.scalar(select(func.count(ContactTag.id))) == ROWS - bad
        assert session.scalar(select(Contact.email).where(Contact.phone == "+14152099999")) == "p99999@example.com"
