"""The segment condition "has an open deal", registered by services.deals with the segments engine."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Contact
from services.deals import move_deal
from services.segments import audience, count_matching, save_segment, validate_definition
from services.segments.filters import OPERATORS
from tests.deals.conftest import make_deal, stages
from tests.factories import make_contact

HAS_OPEN_DEAL = {"version": 1, "conditions": [{"op": "has_open_deal"}]}


def names(stmt) -> set[str]:
    ids = set(db.session.scalars(stmt))
    return set(db.session.scalars(select(Contact.name).where(Contact.id.in_(ids))))


def test_the_operator_is_registered_and_takes_no_input():
    assert OPERATORS["has_open_deal"].label == "has an open deal"
    assert validate_definition(HAS_OPEN_DEAL) == HAS_OPEN_DEAL


def test_only_contacts_with_a_deal_in_an_open_stage_match(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        new, _q, _p, won, lost = stages()
        ana, bob, cid, dee = (make_contact(name=n) for n in ("Ana", "Bob", "Cid", "Dee"))
        make_deal(ana, new)
        make_deal(bob, won)
        make_deal(cid, lost)
        make_deal(cid, new)
        closing = make_deal(dee, new)
        move_deal(closing, won.id)
        assert names(audience(HAS_OPEN_DEAL, for_bulk=False)) == {"Ana", "Cid"}
        combined = {"version": 1, "conditions": [{"op": "has_open_deal"}, {"op": "name_contains", "text": "a"}]}
        assert names(audience(combined, for_bulk=False)) == {"Ana"}
        assert count_matching(HAS_OPEN_DEAL) == (2, 2)


def test_another_workspaces_open_deals_never_match(create_user, in_tenant):
    owner, other = create_user(), create_user()
    with in_tenant(other.tenant_id):
        make_deal(make_contact(name="Theirs"), stages()[0])
    with in_tenant(owner.tenant_id):
        make_contact(name="Mine")
        assert count_matching(HAS_OPEN_DEAL) == (0, 0)


def test_a_segment_saved_from_the_form_uses_it(client, create_user, login, in_tenant):
    user = create_user()
    login(user)
    with in_tenant(user.tenant_id):
        make_deal(make_contact(name="Ana"), stages()[0])
    assert "has an open deal" in client.get("/segments/new").get_data(as_text=True)
    response = client.post("/segments/new", data={"name": "Pipeline", "conditions-0-op": "has_open_deal"})
    assert response.status_code == 303
    with in_tenant(user.tenant_id):
        segment = save_segment("Other", HAS_OPEN_DEAL)
        assert count_matching(segment) == (1, 1)
