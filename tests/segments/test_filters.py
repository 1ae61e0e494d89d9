"""Segment filters: every operator, validation messages, opted-out contacts and tenant scope, on the service."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Contact, Segment
from models.base import utcnow
from services.errors import Invalid
from services.segments import (
    audience,
    count_matching,
    matching_contacts,
    preview,
    register_operator,
    save_segment,
    segments_with_counts,
)
from services.segments.filters import OPERATORS, Operator
from tests.factories import link, make_contact, make_tag
from tests.segments.helpers import flt


@pytest.fixture
def people(owner, in_tenant):
    """Five contacts with tags, fields and dates chosen so every operator splits them differently."""
    with in_tenant(owner.tenant_id):
        vip, lead, cold = make_tag(name="vip"), make_tag(name="lead"), make_tag(name="cold")
        now = utcnow()
        ana = make_contact(name="Ana Lima", phone="+5511987650001", email="ana@shop.test",
                           custom_fields={"city": "Lisbon", "plan": "gold"}, last_inbound_at=now - timedelta(hours=3),
                           created_at=datetime(2026, 1, 10, 12, tzinfo=UTC))
        bob = make_contact(name="Bob 100%_Real", phone="+14155550002", email="bob@corp.test",
                           custom_fields={"city": "lisbon", "plan": ""}, last_inbound_at=now - timedelta(days=3),
                           created_at=datetime(2026, 2, 1, 12, tzinfo=UTC))
        cid = make_contact(name="Cid", phone="+14155550003", custom_fields={},
                           created_at=datetime(2026, 3, 1, 12, tzinfo=UTC))
        dee = make_contact(name="Dee", phone="+14155550004", email="dee@shop.test", custom_fields={"city": "Porto"},
                           opted_out=True, created_at=datetime(2026, 3, 5, 12, tzinfo=UTC))
        eve = make_contact(name="Eve", phone="+14155550005", created_at=datetime(2026, 3, 9, 12, tzinfo=UTC))
        for contact, tags in ((ana, [vip, lead]), (bob, [vip]), (cid, [lead]), (dee, [vip, lead]), (eve, [cold])):
            for tag in tags:
                link(contact, tag)
        return {"tags": {"vip": vip.id, "lead": lead.id, "cold": cold.id},
                "ids": {c.name.split()[0]: c.id for c in (ana, bob, cid, dee, eve)}}


def names(tenant_id, in_tenant, definition, *, bulk: bool | None = None) -> list[str]:
    """First names matched: through matching_contacts, or through audience(for_bulk=bulk)."""
    with in_tenant(tenant_id):
        if bulk is None:
            rows = [c.name for c in db.session.scalars(matching_contacts(definition))]
        else:
            ids = select(Contact.name).where(Contact.id.in_(audience(definition, for_bulk=bulk)))
            rows = db.session.scalars(ids)
        return sorted(name.split()[0] for name in rows)


@pytest.mark.parametrize("condition, expected", [
    ({"op": "tags_any", "tags": ["vip", "cold"]}, ["Ana", "Bob", "Dee", "Eve"]),
    ({"op": "tags_all", "tags": ["vip", "lead"]}, ["Ana", "Dee"]),
    ({"op": "tags_none", "tags": ["vip", "cold"]}, ["Cid"]),
    ({"op": "name_contains", "text": "LIM"}, ["Ana"]),
    ({"op": "name_contains", "text": "100%_"}, ["Bob"]),  # literal: % and _ are characters
    ({"op": "name_contains", "text": "%"}, ["Bob"]),
    ({"op": "phone_contains", "text": "+55 11"}, ["Ana"]),
    ({"op": "phone_contains", "text": "5550"}, ["Bob", "Cid", "Dee", "Eve"]),
    ({"op": "email_contains", "text": "@SHOP."}, ["Ana", "Dee"]),
    ({"op": "custom_equals", "key": "city", "text": "LISBON"}, ["Ana", "Bob"]),
    ({"op": "custom_equals", "key": "plan", "text": "gold"}, ["Ana"]),
    ({"op": "custom_set", "key": "city"}, ["Ana", "Bob", "Dee"]),
    ({"op": "custom_set", "key": "plan"}, ["Ana"]),  # an empty value is not set
    ({"op": "created_before", "date": "2026-03-01"}, ["Ana", "Bob"]),
    ({"op": "created_after", "date": "2026-03-01"}, ["Dee", "Eve"]),
    ({"op": "inbound_within", "days": 1}, ["Ana"]),
    ({"op": "inbound_within", "days": "7"}, ["Ana", "Bob"]),
])
def test_every_operator(owner, people, in_tenant, condition, expected):
    if "tags" in condition:
        condition = {**condition, "tags": [people["tags"][name] for name in condition["tags"]]}
    assert names(owner.tenant_id, in_tenant, flt(condition)) == expected


def test_conditions_combine_with_and(owner, people, in_tenant):
    definition = flt({"op": "tags_any", "tags": [people["tags"]["vip"]]}, {"op": "email_contains", "text": "shop"})
    assert names(owner.tenant_id, in_tenant, definition) == ["Ana", "Dee"]
    assert names(owner.tenant_id, in_tenant, flt()) == ["Ana", "Bob", "Cid", "Dee", "Eve"]


def test_dates_are_days_in_the_workspace_time_zone(owner, in_tenant):
    with in_tenant(owner.tenant_id) as session:
        from models import Tenant
        session.get(Tenant, owner.tenant_id).time_zone = "America/Sao_Paulo"  # UTC-3
        make_contact(name="Late", created_at=datetime(2026, 3, 2, 2, tzinfo=UTC))  # 1 March, 23:00 in São Paulo
    assert names(owner.tenant_id, in_tenant, flt({"op": "created_before", "date": "2026-03-02"})) == ["Late"]
    assert names(owner.tenant_id, in_tenant, flt({"op": "created_after", "date": "2026-03-01"})) == []


def test_opted_out_contacts_are_never_in_a_bulk_audience(owner, people, in_tenant):
    vip = flt({"op": "tags_any", "tags": [people["tags"]["vip"]]})
    assert names(owner.tenant_id, in_tenant, vip, bulk=True) == ["Ana", "Bob"]
    assert names(owner.tenant_id, in_tenant, vip, bulk=False) == ["Ana", "Bob", "Dee"]
    assert names(owner.tenant_id, in_tenant, flt(), bulk=True) == ["Ana", "Bob", "Cid", "Eve"]
    with in_tenant(owner.tenant_id):
        assert count_matching(vip) == (3, 2)
        segment = save_segment("VIPs", vip)
        ids = set(db.session.scalars(audience(segment)))
        assert ids == {people["ids"]["Ana"], people["ids"]["Bob"]}


def test_preview_counts_and_first_ten_newest_first(owner, in_tenant):
    with in_tenant(owner.tenant_id):
        for n in range(12):
            make_contact(name=f"P{n:02d}", created_at=datetime(2026, 1, 1 + n, tzinfo=UTC), opted_out=n < 2)
        shown = preview(flt({"op": "name_contains", "text": "p"}))
        assert (shown.total, shown.reachable, shown.opted_out) == (12, 10, 2)
        assert [c.name for c in shown.contacts] == [f"P{n:02d}" for n in range(11, 1, -1)]


def test_one_tenants_filter_never_reaches_another_tenants_contacts(owner, people, create_user, in_tenant):
    other = create_user()
    with in_tenant(other.tenant_id):
        theirs = make_tag(name="vip")
        link(make_contact(name="Zed Lima", email="zed@shop.test", custom_fields={"city": "Lisbon"}), theirs)
        theirs_id = theirs.id
    with in_tenant(owner.tenant_id):
        assert count_matching(flt({"op": "name_contains", "text": "lima"})) == (1, 1)
        assert count_matching(flt()) == (5, 4)
        with pytest.raises(Invalid) as refused:
            count_matching(flt({"op": "tags_any", "tags": [theirs_id]}))
        assert refused.value.errors == {"conditions-0-tags": "One of the chosen tags does not exist."}
    assert names(other.tenant_id, in_tenant, flt({"op": "custom_equals", "key": "city", "text": "lisbon"})) == ["Zed"]


@pytest.mark.parametrize("definition, errors", [
    ({"conditions": []}, {"conditions": "This filter is not a version 1 segment filter."}),
    (flt({"op": "drop_table"}), {"conditions-0-op": "Choose a condition from the list."}),
    (flt({"op": "has_open_ticket"}), {"conditions-0-op": "Choose a condition from the list."}),
    (flt({"op": "name_contains", "text": "a"}, {"op": "tags_any", "tags": []}),
     {"conditions-1-tags": "Choose at least one of your tags."}),
    (flt({"op": "tags_all", "tags": [999999]}), {"conditions-0-tags": "One of the chosen tags does not exist."}),
    (flt({"op": "phone_contains", "text": "abc"}), {"conditions-0-text": "Enter some digits of the phone number."}),
    (flt({"op": "email_contains", "text": "  "}), {"conditions-0-text": "Enter the text to look for."}),
    (flt({"op": "custom_equals", "key": "", "text": ""}),
     {"conditions-0-key": "Enter the custom field's name.", "conditions-0-text": "Enter the value."}),
    (flt({"op": "custom_set", "key": 'a"b'}),
     {"conditions-0-key": 'Field names used in segments cannot contain " or \\.'}),
    (flt({"op": "created_before", "date": "2026-02-30"}), {"conditions-0-date": "Enter a date like 2026-01-31."}),
    (flt({"op": "created_after", "date": "yesterday"}), {"conditions-0-date": "Enter a date like 2026-01-31."}),
    (flt({"op": "inbound_within", "days": 0}), {"conditions-0-days": "Enter a number of days from 1 to 365."}),
    (flt({"op": "inbound_within", "days": 366}), {"conditions-0-days": "Enter a number of days from 1 to 365."}),
    (flt({"op": "inbound_within", "days": "x"}), {"conditions-0-days": "Enter a number of days from 1 to 365."}),
    (flt(*[{"op": "custom_set", "key": "k"}] * 21), {"conditions": "Use at most 20 conditions."}),
])
def test_validation_messages(owner, in_tenant, definition, errors):
    with in_tenant(owner.tenant_id):
        with pytest.raises(Invalid) as refused:
            save_segment("Bad", definition)
        assert refused.value.errors == errors
        assert db.session.scalars(select(Segment)).all() == []


def test_names_are_required_and_unique_per_tenant_regardless_of_case(owner, create_user, in_tenant):
    with in_tenant(owner.tenant_id):
        first = save_segment("  Lisbon   buyers ", flt())
        assert first.name == "Lisbon buyers"
        with pytest.raises(Invalid) as clash:
            save_segment("LISBON BUYERS", flt())
        assert clash.value.errors == {"name": "A segment called “Lisbon buyers” already exists."}
        with pytest.raises(Invalid) as empty:
            save_segment(" ", flt())
        assert empty.value.errors == {"name": "Enter a name for the segment."}
        assert save_segment("Lisbon buyers", flt({"op": "custom_set", "key": "city"}), first) is first
    with in_tenant(create_user().tenant_id):
        save_segment("Lisbon buyers", flt())  # another workspace may use the same name


def test_list_counts_each_segment_in_its_tenant(owner, people, create_user, in_tenant):
    other = create_user()
    with in_tenant(other.tenant_id):
        make_contact(name="Ana Other")
        save_segment("Everyone", flt())
    with in_tenant(owner.tenant_id):
        save_segment("Everyone", flt())
        save_segment("VIP", flt({"op": "tags_any", "tags": [people["tags"]["vip"]]}))
        save_segment("Nobody", flt({"op": "name_contains", "text": "zzz"}))
        rows = [(s.name, total, reachable) for s, total, reachable in segments_with_counts()]
    assert rows == [("Everyone", 5, 4), ("Nobody", 0, 0), ("VIP", 3, 2)]


def test_the_deals_extension_point(owner, people, in_tenant):
    """A later aggregate plugs its condition in by name (as deals do); an unknown one is refused (above)."""
    from sqlalchemy import false
    register_operator("test_nobody", Operator("matches nobody", (), lambda c, z: false()))
    try:
        with in_tenant(owner.tenant_id):
            assert count_matching(flt({"op": "test_nobody"})) == (0, 0)
        with pytest.raises(ValueError):
            register_operator("tags_any", OPERATORS["tags_any"])
    finally:
        OPERATORS.pop("test_nobody")
