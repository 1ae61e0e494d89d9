"""The home checklist after sign-up, and the pages on a 390 px wide phone: one-row top bar, menu, stacked contacts."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_contacts_flow import add_contact, sign_up

PHONE = {"width": 390, "height": 844}
TOP_BAR_MAX_HEIGHT = 80  # one row of brand, badge and Menu button; three wrapped rows were ~190 px


def step_done(page, step_id):
    return page.locator(f"#{step_id}").get_attribute("data-done") == "true"


def test_sign_up_lands_on_the_checklist_which_ticks_after_linking_the_sandbox(live_server, new_page, worker_process):
    page = new_page()
    sign_up(page, live_server, "home@shop.test", "Home Shop")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("#steps-done")).to_have_text("0 of 3 done")
    assert [step_done(page, step) for step in ("step-whatsapp", "step-contacts", "step-message")] == [False] * 3

    # Step 1 leads to where WhatsApp is linked; link the sandbox there.
    page.locator("#step-whatsapp").get_by_role("link", name="Link WhatsApp").click()
    page.get_by_role("button", name="Use the sandbox").click()
    phone_url = page.get_by_role("link", name="Open the sandbox phone").get_attribute("href")
    phone = new_page()  # the phone is another device, not logged in
    phone.goto(phone_url)
    phone.get_by_role("button", name="Scan and link").click()
    expect(page.locator("#connection-badge")).to_have_text("WhatsApp: Connected", timeout=15_000)

    page.get_by_role("link", name="MessageHub").click()
    expect(page.locator("#step-whatsapp")).to_have_attribute("data-done", "true")
    expect(page.locator("#step-contacts")).to_have_attribute("data-done", "false")
    expect(page.locator("#steps-done")).to_have_text("1 of 3 done")
    tick = page.locator("#step-whatsapp .tick").evaluate("el => getComputedStyle(el, '::before').content")
    assert tick == '"✓"'

    # Step 2 leads to the contact form; a contact ticks it.
    page.locator("#step-contacts").get_by_role("link", name="Add a contact").click()
    expect(page).to_have_url(f"{live_server}/contacts/new")
    add_contact(page, live_server, "Zoe Buyer", "+14155550123")
    page.get_by_role("link", name="MessageHub").click()
    expect(page.locator("#step-contacts")).to_have_attribute("data-done", "true")
    expect(page.locator("#stat-contacts .stat-value")).to_have_text("1")


def test_phone_layout(live_server, new_page):
    page = new_page()
    page.set_viewport_size(PHONE)
    sign_up(page, live_server, "mobile@shop.test", "A Shop With A Rather Long Name")

    # The skip link is the first Tab stop, shows when focused and moves to the main content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["x"] >= 0
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()

    # The top bar is one row: brand, connection badge and Menu; the area links wait behind Menu.
    bar = page.locator("header.topbar")
    assert bar.bounding_box()["height"] <= TOP_BAR_MAX_HEIGHT
    badge = page.locator("#connection-badge")
    expect(badge).to_be_visible()
    assert badge.bounding_box()["x"] + badge.bounding_box()["width"] <= PHONE["width"]
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Contacts")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in ("Inbox", "Contacts", "Tags", "Settings"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Tags", exact=True)).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    page.get_by_role("link", name="Tags", exact=True).click()
    expect(page.get_by_role("heading", name="Tags")).to_be_visible()
    page.get_by_label("Name").fill("wholesale-customers")
    page.get_by_role("button", name="Create tag").click()
    expect(page.locator("table")).to_contain_text("wholesale-customers")

    # Contacts are stacked rows: the phone stays on one line, email and tags are on screen.
    add_contact(page, live_server, "Maria Lopes", "+5511987654321")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Contacts", exact=True).click()
    expect(page).to_have_url(f"{live_server}/contacts/")
    page.get_by_role("link", name="Maria Lopes").click()
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Email").fill("maria.lopes.purchasing@a-very-long-company-name.example")
    page.get_by_label("wholesale-customers").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Maria Lopes")).to_be_visible()
    page.goto(f"{live_server}/contacts/")
    assert bar.bounding_box()["height"] <= TOP_BAR_MAX_HEIGHT

    row = page.locator("#contact-results tbody tr").first
    phone = row.locator("td.tel")
    expect(phone).to_have_text("+55 11 98765-4321")
    lines = phone.evaluate("""el => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    }""")
    assert lines == 1
    message = row.get_by_role("button", name="Message Maria Lopes")
    for cell in (phone, row.locator("td.email"), row.locator("td.tags .pill"), message):
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], cell
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing runs off the side
    # Stacked: phone, email and tags sit below the name, not beside it.
    name_box = row.locator("td.name").bounding_box()
    assert phone.bounding_box()["y"] >= name_box["y"] + name_box["height"] - 1
