"""Personalisation with fallbacks, audiences (all, tags, segment) without the opted out, the window rule."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models import Broadcast, Contact
from models.base import utcnow
from services.broadcasts import audience_counts, personalise, placeholder_problems, save_broadcast
from services.broadcasts.audience import contact_ids
from services.errors import Invalid
from services.segments import save_segment
from tests.factories import link, make_contact, make_tag


def test_placeholders_are_filled_per_contact_with_fallbacks():
    ana = Contact(name="Ana Sousa", phone="+351910000001", custom_fields={"city": "Lisbon"})
    nameless = Contact(name="", phone="+351910000002", custom_fields={})
    body = "Hi {{first_name|there}}, {{ name }}! News from {{custom.city|your city}}."
    assert personalise(body, ana) == "Hi Ana, Ana Sousa! News from Lisbon."
    assert personalise(body, nameless) == "Hi there, ! News from your city."


@pytest.mark.parametrize("body, problem", [
    ("Hi {{firstname}}", "Unknown placeholder {{firstname}}"),
    ("Hi {{custom.}}", "Unknown placeholder"),
    ("Hi {{name", "not closed"),
])
def test_unknown_placeholders_are_refused_with_a_clear_message(app, create_user, in_tenant, body, problem):
    assert any(problem in p for p in placeholder_problems(body))
    user = create_user()
    with in_tenant(user.tenant_id), pytest.raises(Invalid) as refused:
        save_broadcast({"name": "Spring", "body": body, "audience": {"kind": "all"}})
    assert problem in refused.value.errors["body"]


@pytest.fixture
def shop(create_user, in_tenant):
    """Owner's contacts: two VIPs (one opted out), one lead, one untagged; another tenant has a VIP too."""
    owner, other = create_user(), create_user()
    with in_tenant(other.tenant_id):
        link(make_contact(name="Other vip"), make_tag(name="vip"))
    with in_tenant(owner.tenant_id):
        vip, lead = make_tag(name="vip"), make_tag(name="lead")
        ids = {"vip": make_contact(name="Vera Vip", last_inbound_at=utcnow()),
               "out": make_contact(name="Otto Out", opted_out=True),
               "lead": make_contact(name="Lea Lead", last_inbound_at=utcnow() - timedelta(days=3)),
               "none": make_contact(name="Nora None")}
        link(ids["vip"], vip), link(ids["out"], vip), link(ids["lead"], lead)
        segment = save_segment("Leads", {"version": 1, "conditions": [{"op": "tags_any", "tags": [lead.id]}]})
        return owner, {k: c.id for k, c in ids.items()} | {"tag_vip": vip.id, "tag_lead": lead.id,
                                                         "segment": segment.id}


def _ids(session, audience) -> set[int]:
    return set(session.scalars(contact_ids(audience)))


def test_audiences_leave_out_the_opted_out_and_other_tenants(shop, in_tenant):
    owner, ids = shop
    with in_tenant(owner.tenant_id) as session:
        assert _ids(session, {"kind": "all"}) == {ids["vip"], ids["lead"], ids["none"]}
        assert _ids(session, {"kind": "tags", "tag_ids": [ids["tag_vip"]]}) == {ids["vip"]}
        assert _ids(session, {"kind": "tags", "tag_ids": [ids["tag_vip"], ids["tag_lead"]]}) == {ids["vip"],
                                                                                              ids["lead"]}
        assert _ids(session, {"kind": "segment", "segment_id": ids["segment"]}) == {ids["lead"]}


def test_text_outside_the_window_is_counted_as_skipped_on_cloud_only(shop, in_tenant):
    owner, ids = shop

    class Cloud:
        kind = "cloud"

    class Sandbox:
        kind = "sandbox"

    with in_tenant(owner.tenant_id):
        text = Broadcast(name="x", audience={"kind": "all"}, body="Hi")
        template = Broadcast(name="y", audience={"kind": "all"}, template_name="promo", template_language="en_US")
        # Vera wrote today; Lea three days ago and Nora never: their windows are closed.
        assert audience_counts(text, Cloud()) == (3, 2)
        assert audience_counts(template, Cloud()) == (3, 0)
        assert audience_counts(text, Sandbox()) == (3, 0)


def test_the_snapshot_copies_only_this_tenants_reachable_contacts(shop, in_tenant):
    """The INSERT … SELECT runs outside the ORM's automatic scope: its tenant is written into the statement."""
    from sqlalchemy import select

    from models import BroadcastRecipient
    from services.broadcasts.audience import snapshot

    owner, ids = shop
    with in_tenant(owner.tenant_id) as session:
        broadcast = Broadcast(name="All", audience={"kind": "all"}, body="Hi")
        session.add(broadcast)
        session.flush()
        snapshot(broadcast)
        copied = set(session.scalars(select(BroadcastRecipient.contact_id)))
        assert copied == {ids["vip"], ids["lead"], ids["none"]}
