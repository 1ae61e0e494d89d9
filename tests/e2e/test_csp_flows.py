"""The main flows in a real browser under the Content-Security-Policy: any violation fails the test."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_contacts_flow import add_contact, sign_up

# Chromium fires this event for every refused script, style, image, frame or form target.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__csp.push(`${event.violatedDirective} refused ${event.blockedURI || "inline"} at ${where}`);
});
"""


class CspWatch:
    """Collects CSP violations, console errors and script errors from every page it watches."""

    def __init__(self):
        self.problems: list[str] = []
        self.documents: list[tuple[str, str | None]] = []

    def watch(self, page):
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("response", self._response)
        return page

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "securitypolicyviolation" in text or message.type == "error":
            self.problems.append(f"console {message.type}: {text}")

    def _response(self, response):
        if response.request.resource_type == "document":
            self.documents.append((response.url, response.headers.get("content-security-policy")))

    def check(self, *pages):
        """Fail on anything recorded so far, and on any document served without the policy."""
        for page in pages:
            self.problems.extend(page.evaluate("window.__csp || []"))
        assert self.problems == []
        assert self.documents, "no page was watched"
        unprotected = [url for url, policy in self.documents if not policy or "script-src 'self'" not in policy]
        assert unprotected == []


@pytest.fixture
def csp(new_page):
    watch = CspWatch()
    watch.new_page = lambda: watch.watch(new_page())
    return watch


@pytest.fixture
def all_queues_worker(app, live_server):
    """A real `rq worker --with-scheduler` process on every queue, configured like `app`."""
    from tests.workers import start_worker, stop_worker, wait_for_workers

    process = start_worker(app, name="csp-worker")  # live_server has pointed PUBLIC_BASE_URL at itself
    wait_for_workers(app, 1)
    yield process
    stop_worker(process)


def pill_colour(page, selector):
    return page.locator(selector).first.evaluate("el => getComputedStyle(el).backgroundColor")


def test_main_flows_run_under_the_policy(app, live_server, csp, all_queues_worker):
    base = live_server
    page = csp.new_page()
    sign_up(page, base, "csp@shop.test", "CSP Shop")
    page.wait_for_function("() => window.htmx !== undefined")  # deferred scripts may run after first paint
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.locator("head style").count() == 0  # htmx injected no inline <style>

    # Contacts: add, then active search swaps the results.
    add_contact(page, base, "Maria Lopes", "+5511987654321")
    contact_url = page.url
    add_contact(page, base, "John Public", "+14155550123")
    page.goto(f"{base}/contacts/")
    page.get_by_placeholder("Search name, phone or email").fill("maria")
    expect(page.locator("#contact-results")).to_contain_text("Maria Lopes")
    expect(page.locator("#contact-results")).not_to_contain_text("John Public")

    # Tags: create one with a colour, add it inline; the colour is applied without any inline style.
    page.goto(f"{base}/tags/")
    page.get_by_label("Name").fill("vip")
    page.get_by_label("Colour").fill("#aa3300")
    page.get_by_role("button", name="Create tag").click()
    expect(page.locator("table")).to_contain_text("vip")
    assert pill_colour(page, "table .pill") == "rgb(170, 51, 0)"
    page.goto(contact_url)
    page.get_by_label("Tag to add").select_option(label="vip")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("#contact-tags .pill")).to_have_text("vip")
    assert pill_colour(page, "#contact-tags .pill") == "rgb(170, 51, 0)"  # swapped in by htmx
    page.goto(f"{base}/contacts/?q=maria")
    assert pill_colour(page, "#contact-results .pill") == "rgb(170, 51, 0)"

    # Settings: the account page, then link the sandbox (its QR is a data: image).
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("button", name="Log out everywhere")).to_be_visible()
    page.get_by_role("link", name="WhatsApp", exact=True).click()
    page.get_by_role("button", name="Use the sandbox").click()
    expect(page.locator("img.qr")).to_be_visible()
    assert page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")
    phone_url = page.get_by_role("link", name="Open the sandbox phone").get_attribute("href")
    phone = csp.new_page()
    phone.goto(phone_url)
    phone.get_by_role("button", name="Scan and link").click()
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Connected", timeout=15_000)

    # Inbox: the customer writes, the conversation appears by polling, the reply goes out.
    phone.reload()
    phone.get_by_label("Customer name").fill("Zoe Buyer")
    phone.get_by_label("Message").fill("Is my order ready?")
    phone.get_by_role("button", name="Send to the business").click()
    page.get_by_role("link", name="Inbox").click()
    conversation = page.locator("#conversation-list a.conversation", has_text="Zoe Buyer")
    expect(conversation).to_be_visible(timeout=15_000)
    assert conversation.locator(".avatar").evaluate("el => el.style.getPropertyValue('--hue')") != ""
    conversation.click()
    expect(page.locator("#thread .bubble-in")).to_contain_text("Is my order ready?")
    page.get_by_label("Message").fill("Yes, it ships today.")
    page.get_by_role("button", name="Send").click()
    reply = page.locator("#thread .bubble-out", has_text="Yes, it ships today.")
    expect(reply).to_be_visible()
    expect(reply).to_have_attribute("data-status", re.compile("sent|delivered|read"), timeout=15_000)
    phone.reload()
    expect(phone.get_by_text("Yes, it ships today.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    csp.check(page, phone)


def test_the_watch_sees_a_violation(live_server, csp):
    """The check above is not vacuous: an inline script is refused and reported."""
    page = csp.new_page()
    page.goto(f"{live_server}/login")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.__ran = true";
        document.head.appendChild(script);
    }""")
    expect(page.locator("body")).to_be_visible()
    assert page.evaluate("window.__ran") is None
    with pytest.raises(AssertionError):
        csp.check(page)
    assert any("script-src" in problem for problem in csp.problems)
