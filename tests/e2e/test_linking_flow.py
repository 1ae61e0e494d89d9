"""Linking WhatsApp in a real browser: the badge turns Connected without a page reload."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.phones import format_phone
from tests.channels.conftest import GATEWAY_KEY, app_overrides, gateway, graph  # noqa: F401  (fixtures)
from tests.e2e.test_contacts_flow import sign_up


@pytest.fixture
def settings_page(live_server, new_page, worker_process):
    page = new_page()
    sign_up(page, live_server, "linker@shop.test", "Linker Shop")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="WhatsApp", exact=True).click()
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Not linked")
    page.evaluate("window.__marker = 'no reload'")
    return page


def test_link_by_qr_against_the_gateway(app, settings_page, gateway):
    page = settings_page
    page.get_by_role("button", name="Link with QR").click()
    qr = page.get_by_role("img", name="QR code to link WhatsApp")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Waiting to link")
    page.evaluate("window.__marker = 'no reload'")
    [instance] = gateway.instances
    gateway.simulate_scan(instance, number="5511912345678", name="Shop phone")
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Connected", timeout=15_000)
    expect(page.locator("#link-status")).to_contain_text(format_phone("5511912345678"))
    assert page.evaluate("window.__marker") == "no reload"


def test_link_the_sandbox(app, settings_page, new_page):
    page = settings_page
    page.get_by_role("button", name="Use the sandbox").click()
    expect(page.get_by_role("img", name="QR code to link WhatsApp")).to_be_visible()
    page.evaluate("window.__marker = 'no reload'")
    phone_url = page.get_by_role("link", name="Open the sandbox phone").get_attribute("href")
    phone = new_page()  # the phone is another device, not logged in
    phone.goto(phone_url)
    phone.get_by_role("button", name="Scan and link").click()
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Connected", timeout=15_000)
    assert page.evaluate("window.__marker") == "no reload"
    # The phone page follows by itself too, and shows the number in the international format.
    expect(phone.locator("#phone-state")).to_have_text(f"Linked as {format_phone('15550100999')}", timeout=15_000)
    expect(page.locator("#link-status")).to_contain_text(f"Connected as {format_phone('15550100999')}")
