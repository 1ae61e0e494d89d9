"""The navigation badge on a page other than Settings follows the link state within seconds, without a reload."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.enums import ConnectionState
from models import Channel, User
from services.channels import set_state
from tests.channels.conftest import GATEWAY_KEY, gateway, graph  # noqa: F401  (fixtures)
from tests.e2e.test_contacts_flow import sign_up


@pytest.fixture
def app_overrides(graph, gateway):
    return {
        "WHATSAPP_GRAPH_URL": graph.url, "WHATSAPP_GRAPH_VERSION": graph.api_version,
        "WHATSAPP_GATEWAY_URL": gateway.url, "WHATSAPP_GATEWAY_KEY": GATEWAY_KEY,
        "SANDBOX_RECEIPT_DELAYS": (0, 0, 0),
    }


def test_the_badge_on_contacts_turns_connected_then_disconnected(app, live_server, new_page, in_tenant,
                                                                  worker_process):
    page = new_page()
    sign_up(page, live_server, "badge@shop.test", "Badge Shop")
    page.goto(f"{live_server}/settings/whatsapp")
    page.get_by_role("button", name="Use the sandbox").click()
    phone_url = page.get_by_role("link", name="Open the sandbox phone").get_attribute("href")

    page.get_by_role("link", name="Contacts").click()
    badge = page.locator("#connection-badge")
    expect(badge).to_have_text("WhatsApp: Waiting to link")
    page.evaluate("window.__marker = 'no reload'")

    phone = new_page()  # the phone scans from another device
    phone.goto(phone_url)
    phone.get_by_role("button", name="Scan and link").click()
    # Pending polls every 2 s: the worker's processing plus one poll.
    expect(badge).to_have_text("WhatsApp: Connected", timeout=8_000)
    assert page.evaluate("window.__marker") == "no reload"

    # The phone drops the link (as a provider's connection event would record it).
    with app.app_context():
        from extensions import db

        tenant_id = db.session.scalar(select(User.tenant_id).where(User.email == "badge@shop.test"))
    with in_tenant(tenant_id) as session:
        set_state(session.scalar(select(Channel)), ConnectionState.DISCONNECTED)
    # A settled badge polls every 10 s.
    expect(badge).to_have_text("WhatsApp: Disconnected", timeout=13_000)
    assert page.evaluate("window.__marker") == "no reload"
    assert page.url == f"{live_server}/contacts/"
