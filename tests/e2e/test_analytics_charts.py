"""Charts render in a real browser under the Content-Security-Policy: the workspace's analytics dashboard and
the admin's tenant page, with no violation, console error or script error."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from extensions import db
from models import Message
from models.base import utcnow
from models.tenancy import tenant_scope
from services.admin.rollup import refresh_stats
from tests.deals.conftest import make_deal, stages
from tests.e2e.steps import log_in
from tests.e2e.test_csp_flows import csp  # noqa: F401  (fixture)
from tests.factories import make_contact


def _history(app, tenant_id: int) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        contact = make_contact(name="Chart Customer")
        for days_ago, direction, status in ((3, "in", "received"), (3, "out", "read"), (1, "out", "failed"),
                                            (0, "in", "received")):
            db.session.add(Message(contact_id=contact.id, direction=direction, type="text", status=status,
                                   body="hi", origin="inbox", created_at=utcnow() - timedelta(days=days_ago)))
        make_deal(contact, stages()[1], "Open deal", value="250")
        make_deal(contact, stages()[3], "Won deal", value="90", currency="EUR")
        db.session.commit()
    with app.app_context():
        refresh_stats()  # the job every 10 minutes: response figures are read from its rollup
        db.session.commit()


def _drawn(page, figure_id: str) -> None:
    chart = page.locator(f"#{figure_id} .chart-canvas")
    expect(chart).to_have_attribute("data-rendered", "true")
    assert chart.locator("canvas").count() == 1
    assert chart.locator("canvas").evaluate("c => c.width > 0 && c.height > 0")
    # uPlot's legend names the series: the data reached the chart.
    expect(chart.locator(".u-legend")).to_contain_text("read")


def test_the_dashboard_and_the_admin_tenant_page_draw_their_charts(app, live_server, csp, create_user):
    user = create_user(email="owner@charts.test", tenant_name="Charts Co")
    admin = create_user(email="root@charts.test", tenant_name="Platform administration", is_admin=True)
    _history(app, user.tenant_id)

    page = csp.new_page()
    log_in(page, live_server, user.email)
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    _drawn(page, "chart-messages")
    expect(page.locator("#chart-opt-outs .chart-canvas")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#chart-won-value .u-legend")).to_contain_text("EUR")
    stage_bars = page.locator("#chart-stage-value .chart-canvas")
    expect(stage_bars).to_have_attribute("data-rendered", "true")
    expect(stage_bars.locator(".u-legend")).to_contain_text("USD")
    expect(page.locator("#response-rate")).to_have_text("50%")
    # The date range picker narrows the figures: today alone holds one unanswered customer message.
    today = utcnow().date().isoformat()
    page.locator("input[name=since]").fill(today)
    page.locator("input[name=until]").fill(today)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#response-rate")).to_have_text("0%")
    _drawn(page, "chart-messages")

    admin_page = csp.new_page()
    log_in(admin_page, live_server, admin.email)
    admin_page.goto(f"{live_server}/admin/tenants/{user.tenant_id}")
    expect(admin_page.get_by_role("heading", name="Charts Co")).to_be_visible()
    _drawn(admin_page, "chart-tenant-messages")
    admin_page.get_by_role("link", name="Analytics").click()
    _drawn(admin_page, "chart-messages")
    csp.check(page, admin_page)
