"""The contacts quota on imports: a file that cannot fit is refused up front with the numbers, and a job that
meets the limit stops there cleanly, saying at which line."""
from __future__ import annotations

import pytest

from models import Tenant
from services.contact_import import create_import, start_import
from services.quotas import QuotaExceeded
from tests.contact_import.helpers import contacts, csv_bytes, outcome, phone, start
from tests.factories import make_contact


def _limit(in_tenant, tenant_id: int, limit: int, existing: int = 0) -> None:
    with in_tenant(tenant_id) as session:
        session.get(Tenant, tenant_id).quota_contacts = limit
        for n in range(existing):
            make_contact(phone=phone(100 + n))


def _file(count: int, first: int = 0) -> bytes:
    return csv_bytes([["name", "phone"], *([f"P{n}", phone(n)] for n in range(first, first + count))])


def test_a_file_larger_than_the_room_left_is_refused_up_front_with_the_numbers(app, owner, in_tenant):
    _limit(in_tenant, owner.tenant_id, 5, existing=3)
    with in_tenant(owner.tenant_id) as session:
        item = create_import("big.csv", _file(3))
        with pytest.raises(QuotaExceeded) as refused:
            start_import(item, dict(item.mapping), "create", [], "US")
        session.rollback()
    assert str(refused.value.errors[""]).startswith(
        "This file would add 3 contacts, but the workspace has room for 2 more (limit 5, 3 stored).")
    with in_tenant(owner.tenant_id):
        assert len(contacts(in_tenant, owner.tenant_id)) == 3


def test_updating_known_phones_takes_no_room(app, owner, in_tenant, run_jobs):
    _limit(in_tenant, owner.tenant_id, 4, existing=3)
    # Two of the three rows are contacts already: one new contact fits in the one place left.
    data = csv_bytes([["name", "phone"], ["Known A", phone(100)], ["Known B", phone(101)], ["New", phone(1)]])
    import_id = start(in_tenant, owner.tenant_id, data, mode="upsert")
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.state, item.created, item.updated, refused) == ("done", 1, 2, [])


def test_the_job_stops_cleanly_at_the_limit_and_says_where(app, owner, in_tenant, run_jobs):
    _limit(in_tenant, owner.tenant_id, 5)
    import_id = start(in_tenant, owner.tenant_id, _file(5))
    # Contacts added meanwhile (by hand, by inbound messages) use up room the file counted on.
    with in_tenant(owner.tenant_id):
        for n in range(3):
            make_contact(phone=phone(200 + n))
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.state, item.created, item.rows_done) == ("stopped", 2, 2)
    assert item.error.startswith("Stopped at line 4: this workspace reached its limit of 5 contacts.")
    assert "Rows from line 4 on were not imported" in item.error
    assert len(contacts(in_tenant, owner.tenant_id)) == 5
    assert refused == []
