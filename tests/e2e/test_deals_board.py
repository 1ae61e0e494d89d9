"""The deals board in a real browser under the Content-Security-Policy: drag a card to another stage and within
a column, then move one with the keyboard through "Move to…"; the totals follow and the database agrees."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Deal, DealHistory, Stage, User
from tests.deals.conftest import make_deal, stages
from tests.e2e.test_contacts_flow import sign_up
from tests.e2e.test_csp_flows import csp  # noqa: F401
from tests.factories import make_contact


def arrange(app, in_tenant, email: str) -> dict[str, int]:
    with app.app_context():
        tenant_id = db.session.scalar(select(User.tenant_id).where(User.email == email))
    with in_tenant(tenant_id):
        new, qualified, _proposal, won, _lost = stages()
        contact = make_contact(name="Anna Buyer")
        for title, value in (("Alpha deal", "100"), ("Beta deal", "50"), ("Gamma deal", "25")):
            make_deal(contact, new, title, value=value)
        return {"tenant": tenant_id, "new": new.id, "qualified": qualified.id, "won": won.id}


def stage_of(in_tenant, tenant_id: int, title: str) -> str:
    with in_tenant(tenant_id):
        return db.session.scalar(select(Stage.name).join(Deal, Deal.stage_id == Stage.id).where(Deal.title == title))


def test_drag_and_move_to_update_the_totals_without_a_policy_violation(app, live_server, csp, in_tenant):
    page = csp.new_page()
    sign_up(page, live_server, "board@shop.test", "Board Shop")
    ids = arrange(app, in_tenant, "board@shop.test")
    page.get_by_role("link", name="Deals").click()
    page.wait_for_function("() => window.htmx !== undefined")
    new_total = page.locator(f"#stage-total-{ids['new']}")
    qualified_total = page.locator(f"#stage-total-{ids['qualified']}")
    expect(new_total).to_have_text("3 deals · USD 175.00")
    expect(qualified_total).to_have_text("0 deals")

    # Drag Alpha into the empty Qualified column: the totals are swapped in from the server's answer.
    page.locator("#deal-" + str(_id(in_tenant, ids, "Alpha deal"))).drag_to(
        page.locator(f'.board-cards[data-stage-id="{ids["qualified"]}"]'))
    expect(qualified_total).to_have_text("1 deal · USD 100.00")
    expect(new_total).to_have_text("2 deals · USD 75.00")
    expect(page.locator("#board-status")).to_have_text("Moved “Alpha deal” to Qualified.")
    assert stage_of(in_tenant, ids["tenant"], "Alpha deal") == "Qualified"

    # The newest deal is on top. Drag Beta above Gamma within New: the order is kept after a reload.
    gamma, beta = _id(in_tenant, ids, "Gamma deal"), _id(in_tenant, ids, "Beta deal")
    new_titles = page.locator(f'.board-cards[data-stage-id="{ids["new"]}"] .deal-title')
    expect(new_titles).to_have_text(["Gamma deal", "Beta deal"])
    page.locator(f"#deal-{beta}").drag_to(page.locator(f"#deal-{gamma}"), target_position={"x": 20, "y": 5})
    expect(page.locator("#board-status")).to_have_text("Moved “Beta deal” to New.")
    page.reload()
    expect(new_titles).to_have_text(["Beta deal", "Gamma deal"])

    # "Move to…" with the keyboard only: open the menu, choose Won, press Move.
    card = page.locator(f"#deal-{beta}")
    card.locator("summary").focus()
    page.keyboard.press("Enter")
    card.get_by_label("Stage for Beta deal").focus()
    card.get_by_label("Stage for Beta deal").select_option(label="Won")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(f"#stage-total-{ids['won']}")).to_have_text("1 deal · USD 50.00")
    expect(new_total).to_have_text("1 deal · USD 25.00")
    expect(page.locator(f'.board-cards[data-stage-id="{ids["won"]}"] #deal-{beta}')).to_be_visible()
    assert stage_of(in_tenant, ids["tenant"], "Beta deal") == "Won"
    with in_tenant(ids["tenant"]):
        moves = db.session.scalars(select(DealHistory.to_stage_name).where(DealHistory.from_stage_id.is_not(None))
                                   .order_by(DealHistory.id)).all()
        assert moves == ["Qualified", "Won"]
    csp.check(page)


def _id(in_tenant, ids, title: str) -> int:
    with in_tenant(ids["tenant"]):
        return db.session.scalar(select(Deal.id).where(Deal.title == title))
