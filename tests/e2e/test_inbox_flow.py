"""The inbox in a real browser: a sandbox conversation whose reply turns read live, and a Cloud template send."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from models.base import utcnow
from tests.channels.conftest import GATEWAY_KEY, WABA_ID, cloud_credentials, cloud_tenant, gateway, graph  # noqa: F401
from tests.e2e.test_contacts_flow import sign_up
from tests.factories import make_contact
from tests.inbox.conftest import add_message

# Far enough apart that each tick stays on screen for more than one 2-second thread poll.
RECEIPT_DELAYS = (0.5, 4.0, 8.0)


@pytest.fixture
def app_overrides(graph, gateway):
    return {
        "WHATSAPP_GRAPH_URL": graph.url, "WHATSAPP_GRAPH_VERSION": graph.api_version,
        "WHATSAPP_GATEWAY_URL": gateway.url, "WHATSAPP_GATEWAY_KEY": GATEWAY_KEY,
        "SANDBOX_RECEIPT_DELAYS": RECEIPT_DELAYS,
    }


def link_sandbox(page, new_page, base):
    """Link the sandbox from Settings and return the (logged-out) phone page."""
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="WhatsApp", exact=True).click()
    page.get_by_role("button", name="Use the sandbox").click()
    phone_url = page.get_by_role("link", name="Open the sandbox phone").get_attribute("href")
    phone = new_page()
    phone.goto(phone_url)
    phone.get_by_role("button", name="Scan and link").click()
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Connected", timeout=15_000)
    phone.reload()
    expect(phone.get_by_text("Linked as")).to_be_visible()
    return phone


def test_reply_in_the_sandbox_turns_read_without_a_reload(app, live_server, new_page, worker_process):
    page = new_page()
    sign_up(page, live_server, "inbox@shop.test", "Inbox Shop")
    phone = link_sandbox(page, new_page, live_server)

    page.get_by_role("link", name="Inbox").click()
    expect(page.get_by_text("No conversations yet")).to_be_visible()
    page.evaluate("window.__marker = 'no reload'")

    phone.get_by_label("Customer name").fill("Zoe Buyer")
    phone.get_by_label("Message").fill("Hello, is my order ready?")
    phone.get_by_role("button", name="Send to the business").click()

    # The list polls every 5 s: the new conversation appears with its unread badge, no reload.
    conversation = page.locator("#conversation-list a.conversation", has_text="Zoe Buyer")
    expect(conversation).to_be_visible(timeout=15_000)
    expect(conversation.locator(".unread-badge")).to_have_text("1 unread")
    assert page.evaluate("window.__marker") == "no reload"

    conversation.click()
    expect(page.get_by_role("heading", name="Zoe Buyer", level=1)).to_be_visible()
    expect(page.locator("#thread .bubble-in")).to_contain_text("Hello, is my order ready?")
    row = page.locator("#conversation-list a.conversation", has_text="Zoe Buyer")
    expect(row.locator(".unread-badge")).to_have_count(0)
    page.evaluate("window.__marker = 'no reload'")
    # Record every status the reply shows, as a person watching the ticks would see them.
    page.evaluate("""() => {
        window.__statuses = [];
        setInterval(() => {
            const bubble = [...document.querySelectorAll('#thread .bubble-out')].pop();
            const status = bubble && bubble.dataset.status;
            if (status && window.__statuses[window.__statuses.length - 1] !== status) window.__statuses.push(status);
        }, 50);
    }""")

    # A quick reply typed as /shortcut expands in place.
    page.locator("#quick-replies-data").evaluate(
        "el => el.textContent = JSON.stringify([{shortcut: 'ship', body: 'It ships today.'}])")
    box = page.get_by_label("Message")
    box.fill("Yes! /ship")
    box.press("Tab")
    expect(box).to_have_value("Yes! It ships today.")
    page.get_by_role("button", name="Send").click()

    reply = page.locator("#thread .bubble-out", has_text="Yes! It ships today.")
    expect(reply).to_be_visible()
    expect(box).to_have_value("")
    expect(reply).to_have_attribute("data-status", "sent", timeout=10_000)
    expect(reply).to_have_attribute("data-status", "delivered", timeout=10_000)
    expect(reply).to_have_attribute("data-status", "read", timeout=15_000)
    expect(reply.locator(".status-read .ticks")).to_have_text("✓✓")
    # The recorder samples every 50 ms: on a loaded machine its next tick may come after the assertion above.
    page.wait_for_function("window.__statuses.includes('read')")
    seen = page.evaluate("window.__statuses")
    assert [s for s in seen if s in ("sent", "delivered", "read")] == ["sent", "delivered", "read"], seen
    assert page.evaluate("window.__marker") == "no reload"

    # The customer's phone received it.
    phone.reload()
    expect(phone.get_by_text("Yes! It ships today.")).to_be_visible()


def test_cloud_template_outside_the_window(app, live_server, new_page, graph, cloud_tenant, client, in_tenant,
                                           worker_process):
    assert client.post("/settings/whatsapp/cloud/test").status_code in (200, 303)
    with in_tenant(cloud_tenant.tenant_id):
        contact = make_contact(name="Zoe Quinn", phone="+14155550142", custom_fields={"order": "A-17"})
        add_message(contact, "out", "Thanks for your visit", minutes_ago=3 * 24 * 60)
        contact.last_inbound_at = utcnow() - timedelta(days=3)
        contact_id = contact.id
    graph.add_template(WABA_ID, "order_ready", "en_US",
                       components=[{"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready for pickup."}])

    page = new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(cloud_tenant.email)
    page.get_by_label("Password").fill("correct-horse-42")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/inbox/{contact_id}")

    expect(page.get_by_text("The 24-hour window is closed.")).to_be_visible()
    expect(page.get_by_label("Message")).to_have_count(0)
    page.get_by_role("button", name="Sync templates").click()
    expect(page.get_by_text("Templates synced: 1 new")).to_be_visible()
    page.evaluate("window.__marker = 'no reload'")

    page.get_by_label("Template", exact=True).select_option(label="order_ready · en_US · marketing")
    first = page.get_by_label("Value for {{1}}")
    expect(first).to_have_value("Zoe Quinn")
    # htmx wires up swapped-in content when it settles; a person is never faster than that, a robot can be.
    expect(page.locator("#template-form")).not_to_have_class(re.compile("htmx-settling"))
    page.get_by_label("Fill {{2}} from").select_option(label="Field: order")
    expect(page.get_by_label("Value for {{2}}")).to_have_value("A-17")
    expect(page.locator("#template-preview")).to_contain_text("Hi Zoe Quinn, your order A-17 is ready for pickup.")
    page.get_by_label("Fill {{2}} from").select_option(label="Custom text")
    page.get_by_label("Value for {{2}}").fill("B-99")
    expect(page.locator("#template-preview")).to_contain_text("Hi Zoe Quinn, your order B-99 is ready for pickup.")
    page.get_by_role("button", name="Send template").click()

    sent = page.locator("#thread .bubble-out.type-template", has_text="your order B-99")
    expect(sent).to_be_visible()
    expect(sent).to_have_attribute("data-status", "sent", timeout=15_000)
    assert page.evaluate("window.__marker") == "no reload"
    deadline = time.monotonic() + 10
    while not any(b["type"] == "template" for b in graph.sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    [body] = [b for b in graph.sent if b["type"] == "template"]
    assert body["to"] == "14155550142" and body["template"]["name"] == "order_ready"
    assert [p["text"] for p in body["template"]["components"][0]["parameters"]] == ["Zoe Quinn", "B-99"]
