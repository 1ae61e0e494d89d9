"""The sandbox on any port: its QR and link reach the phone page, which then updates itself without a reload."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from config import default_public_base_url
from services.phones import format_phone
from services.qr import qr_data_uri
from tests.channels.conftest import GATEWAY_KEY, gateway, graph  # noqa: F401  (fixtures)
from tests.e2e.test_contacts_flow import sign_up
from whatsapp.sandbox import SANDBOX_NUMBER

# Each receipt stays on screen for more than one 2-second poll of the phone.
RECEIPT_DELAYS = (0.5, 4.0, 8.0)


@pytest.fixture
def app_overrides(graph, gateway):
    return {
        "WHATSAPP_GRAPH_URL": graph.url, "WHATSAPP_GRAPH_VERSION": graph.api_version,
        "WHATSAPP_GATEWAY_URL": gateway.url, "WHATSAPP_GATEWAY_KEY": GATEWAY_KEY,
        "SANDBOX_RECEIPT_DELAYS": RECEIPT_DELAYS,
    }


@pytest.fixture
def unset_base_url(app, live_server):
    """PUBLIC_BASE_URL not set, as after `make run PORT=…` without it: the derived default says port 5000."""
    default = default_public_base_url({})
    assert urlsplit(default).port == 5000 != urlsplit(live_server).port
    app.config["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL_DERIVED"] = default
    return live_server


def test_the_sandbox_phone_opens_on_the_port_the_app_runs_on_and_goes_live(app, unset_base_url, new_page,
                                                                             worker_process):
    base = unset_base_url
    page = new_page()
    sign_up(page, base, "phone@shop.test", "Phone Shop")
    page.goto(f"{base}/settings/whatsapp")
    page.get_by_role("button", name="Use the sandbox").click()
    link = page.get_by_role("link", name="Open the sandbox phone")
    phone_url = link.get_attribute("href")
    assert phone_url.startswith(f"{base}/sandbox/sandbox-"), phone_url
    # The QR encodes the same address, so a phone camera opens it too.
    assert page.get_by_role("img", name="QR code to link WhatsApp").get_attribute("src") == qr_data_uri(phone_url)

    phone = new_page()  # another device, not logged in
    phone.goto(phone_url)
    expect(phone.get_by_text("This phone is not linked to the workspace yet.")).to_be_visible()
    phone.get_by_role("button", name="Scan and link").click()
    phone.evaluate("window.__marker = 'no reload'")
    expect(phone.locator("#phone-state")).to_have_text(f"Linked as {format_phone(SANDBOX_NUMBER)}", timeout=15_000)
    assert phone.evaluate("window.__marker") == "no reload"

    phone.get_by_label("Customer name").fill("Zoe Buyer")
    phone.get_by_label("Message").fill("Is my order ready?")
    phone.get_by_role("button", name="Send to the business").click()
    phone.evaluate("window.__marker = 'no reload'")
    # What the customer starts typing survives the screen's refreshes.
    phone.get_by_label("Message").fill("And can I pay by card")

    page.goto(f"{base}/inbox/")
    page.locator("#conversation-list a.conversation", has_text="Zoe Buyer").click(timeout=20_000)
    page.get_by_label("Message").fill("Yes, it is ready for pickup.")
    page.get_by_role("button", name="Send").click()

    received = phone.locator("#phone-inbox li", has_text="Yes, it is ready for pickup.")
    expect(received).to_be_visible(timeout=15_000)
    for status in ("delivered", "read"):
        expect(received).to_have_attribute("data-status", status, timeout=15_000)
    expect(received.locator(".receipt")).to_have_text("(read)")
    expect(phone.get_by_label("Message")).to_have_value("And can I pay by card")
    assert phone.evaluate("window.__marker") == "no reload"
