"""Board routes: columns and totals, moves by drag (htmx, totals out of band) and by the plain "Move to…" form."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import Deal, DealHistory
from tests.deals.conftest import make_deal, stages
from tests.factories import link, make_contact, make_tag
from tests.test_isolation_routes import snapshot

HX = {"HX-Request": "true"}


def arrange(in_tenant, tenant_id):
    with in_tenant(tenant_id):
        new, qualified = stages()[:2]
        contact = make_contact(name="Anna")
        a = make_deal(contact, new, "Alpha deal", value="100")
        b = make_deal(contact, new, "Beta deal", value="50")
        return {"new": new.id, "qualified": qualified.id, "a": a.id, "b": b.id, "contact": contact.id}


def total(page: str, stage_id: int) -> str:
    match = re.search(rf'<p class="stage-total" id="stage-total-{stage_id}"[^>]*>(.*?)</p>', page, re.S)
    assert match, f"no total for stage {stage_id}"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def test_the_board_shows_a_column_per_stage_with_cards_and_totals(client, owner, in_tenant):
    ids = arrange(in_tenant, owner.tenant_id)
    page = client.get("/deals/").get_data(as_text=True)
    for name in ("New", "Qualified", "Proposal", "Won", "Lost"):
        assert f">{name}" in page
    assert page.index("Beta deal") < page.index("Alpha deal")  # the newest on top
    assert total(page, ids["new"]) == "2 deals · USD 150.00"
    assert total(page, ids["qualified"]) == "0 deals"
    assert 'draggable="true"' in page and "Move to…" in page
    assert 'src="/static/js/deals.js"' in page


def test_a_drag_move_answers_every_total_out_of_band_and_records_history(client, owner, in_tenant, app):
    ids = arrange(in_tenant, owner.tenant_id)
    response = client.post(f"/deals/{ids['a']}/move", data={"stage_id": ids["qualified"], "position": 0}, headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert body.count('hx-swap-oob="true"') == 6  # five totals and the status line
    assert total(body, ids["new"]) == "1 deal · USD 50.00"
    assert total(body, ids["qualified"]) == "1 deal · USD 100.00"
    assert "Moved “Alpha deal” to Qualified." in body
    with in_tenant(owner.tenant_id):
        assert db.session.get(Deal, ids["a"]).stage_id == ids["qualified"]
        entry = db.session.scalar(select(DealHistory).where(DealHistory.deal_id == ids["a"],
                                                            DealHistory.from_stage_id.is_not(None)))
        assert (entry.from_stage_name, entry.to_stage_name, entry.user_id) == ("New", "Qualified", owner.id)


def test_a_drag_within_a_column_reorders_it(client, owner, in_tenant):
    ids = arrange(in_tenant, owner.tenant_id)
    assert client.post(f"/deals/{ids['a']}/move", data={"stage_id": ids["new"], "position": 0},
                       headers=HX).status_code == 200
    page = client.get("/deals/").get_data(as_text=True)
    assert page.index("Alpha deal") < page.index("Beta deal")
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(DealHistory.id).where(DealHistory.from_stage_id.is_not(None))) is None


def test_the_move_to_form_works_without_javascript(client, owner, in_tenant):
    ids = arrange(in_tenant, owner.tenant_id)
    response = client.post(f"/deals/{ids['a']}/move", data={"stage_id": ids["qualified"]})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#deal-{ids['a']}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Moved “Alpha deal” to Qualified." in page
    assert total(page, ids["qualified"]) == "1 deal · USD 100.00"


def test_totals_after_a_move_follow_the_boards_filter(client, owner, in_tenant):
    ids = arrange(in_tenant, owner.tenant_id)
    with in_tenant(owner.tenant_id):
        other = make_contact(name="Bob")
        make_deal(other, stages()[0], "Bob deal", value="7")
        vip = make_tag(name="vip")
        link(db.session.get(type(other), ids["contact"]), vip)
        vip_id = vip.id
    body = client.post(f"/deals/{ids['a']}/move?tag={vip_id}", data={"stage_id": ids["qualified"]},
                       headers=HX).get_data(as_text=True)
    assert total(body, ids["new"]) == "1 deal · USD 50.00"  # Bob's deal is not in the filtered board
    board = client.get(f"/deals/?tag={vip_id}").get_data(as_text=True)
    assert "Bob deal" not in board and "Beta deal" in board


def test_a_bad_move_is_refused_with_the_reason_and_changes_nothing(client, owner, in_tenant, app):
    ids = arrange(in_tenant, owner.tenant_id)
    before = snapshot(app)
    for data in ({"stage_id": 999999}, {}, {"stage_id": "x"}, {"stage_id": ids["new"], "position": -1}):
        response = client.post(f"/deals/{ids['a']}/move", data=data, headers=HX)
        assert response.status_code == 422, data
        assert 'id="board-status"' in response.get_data(as_text=True)
    plain = client.post(f"/deals/{ids['a']}/move", data={"stage_id": 999999})
    assert plain.status_code == 303
    assert "Choose one of this pipeline" in client.get(plain.headers["Location"]).get_data(as_text=True)
    assert snapshot(app) == before


def test_another_workspace_cannot_move_a_deal_or_see_it_on_its_board(app, create_user, login, in_tenant):
    owner, intruder = create_user(), create_user()
    ids = arrange(in_tenant, owner.tenant_id)
    with in_tenant(intruder.tenant_id):
        intruder_stage = stages()[1].id
    client = login(intruder, test_client=app.test_client())
    before = snapshot(app)
    for stage_id in (ids["qualified"], intruder_stage):
        assert client.post(f"/deals/{ids['a']}/move", data={"stage_id": stage_id}, headers=HX).status_code == 404
    assert snapshot(app) == before
    board = client.get("/deals/").get_data(as_text=True)
    assert "Alpha deal" not in board
    assert client.get("/deals/?pipeline=0").status_code == 404
    with in_tenant(owner.tenant_id):
        pipeline_id = db.session.get(Deal, ids["a"]).pipeline_id
    assert client.get(f"/deals/?pipeline={pipeline_id}").status_code == 404
    assert client.get(f"/deals/list?pipeline={pipeline_id}").status_code == 404
    assert client.get(f"/deals/export.csv?pipeline={pipeline_id}").status_code == 404


def test_a_malformed_month_is_ignored_with_a_message(client, owner, in_tenant):
    arrange(in_tenant, owner.tenant_id)
    page = client.get("/deals/?month=2026-13").get_data(as_text=True)
    assert "Choose a month like 2026-03." in page and "Alpha deal" in page


def test_a_long_column_shows_its_top_cards_and_links_to_the_rest(client, owner, in_tenant):
    from services.deals import CARDS_PER_COLUMN

    with in_tenant(owner.tenant_id):
        new, qualified = stages()[:2]
        contact = make_contact()
        for n in range(CARDS_PER_COLUMN + 1):
            make_deal(contact, new, f"Deal number {n:03d}", value="1")
        make_deal(contact, qualified, "Elsewhere")
        new_id = new.id
    page = client.get("/deals/").get_data(as_text=True)
    assert page.count('class="deal-card"') == CARDS_PER_COLUMN + 1
    assert "Deal number 000" not in page and f"Deal number {CARDS_PER_COLUMN:03d}" in page  # the oldest is hidden
    assert total(page, new_id) == f"{CARDS_PER_COLUMN + 1} deals · USD {CARDS_PER_COLUMN + 1}.00"
    assert f"All {CARDS_PER_COLUMN + 1} in the list" in page
    listing = client.get(f"/deals/list?stage={new_id}&sort=title&dir=asc").get_data(as_text=True)
    assert "Deal number 000" in listing and "Elsewhere" not in listing


def test_moving_from_the_deal_page_returns_to_it_with_the_history(client, owner, in_tenant):
    ids = arrange(in_tenant, owner.tenant_id)
    response = client.post(f"/deals/{ids['a']}/move", data={"stage_id": ids["qualified"], "back": "deal"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/deals/{ids['a']}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "New → Qualified" in page and "Moved “Alpha deal” to Qualified." in page
