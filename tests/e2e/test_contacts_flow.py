"""Two people sign up, manage contacts and tags in a real browser, and never see each other's data."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect


def sign_up(page, base, email, workspace):
    page.goto(f"{base}/signup")
    page.get_by_label("Company or workspace name").fill(workspace)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("browser-pass-123")
    page.get_by_label("Repeat password").fill("browser-pass-123")
    page.locator("main").get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()


def add_contact(page, base, name, phone):
    page.goto(f"{base}/contacts/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Phone").fill(phone)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def test_two_tenants_manage_contacts_and_stay_apart(live_server, new_page):
    alice = new_page()
    sign_up(alice, live_server, "alice@shop.test", "Alice Shop")
    add_contact(alice, live_server, "Maria Secret", "+5511987654321")
    contact_url = alice.url
    add_contact(alice, live_server, "John Public", "+14155550123")

    # Bad input re-renders with a message and keeps what was typed.
    alice.goto(f"{live_server}/contacts/new")
    alice.get_by_label("Name").fill("Dup")
    alice.get_by_label("Phone").fill("+1 (415) 555-0123")
    alice.get_by_role("button", name="Save").click()
    expect(alice.get_by_text("+14155550123 already belongs to John Public")).to_be_visible()
    expect(alice.get_by_label("Name")).to_have_value("Dup")

    # Active search swaps only the results.
    alice.goto(f"{live_server}/contacts/")
    alice.get_by_placeholder("Search name, phone or email").fill("maria")
    expect(alice.locator("#contact-results")).to_contain_text("Maria Secret")
    expect(alice.locator("#contact-results")).not_to_contain_text("John Public")
    expect(alice).to_have_url(re.compile(r"q=maria"))

    # Create a tag, then tag Maria inline without a page load.
    alice.goto(f"{live_server}/tags/")
    alice.get_by_label("Name").fill("vip")
    alice.get_by_role("button", name="Create tag").click()
    expect(alice.locator("table")).to_contain_text("vip")
    alice.goto(contact_url)
    alice.evaluate("window.__marker = 'same page'")
    alice.get_by_label("Tag to add").select_option(label="vip")
    alice.get_by_role("button", name="Add tag").click()
    expect(alice.locator("#contact-tags .pill")).to_have_text("vip")
    assert alice.evaluate("window.__marker") == "same page"

    # "Message" opens the conversation with the contact, from the contact page and from the list.
    contact_id = contact_url.rstrip("/").rsplit("/", 1)[1]
    alice.locator("main").get_by_role("button", name="Message", exact=True).click()
    expect(alice).to_have_url(f"{live_server}/inbox/{contact_id}")
    alice.goto(f"{live_server}/contacts/")
    alice.get_by_role("button", name="Message Maria Secret").click()
    expect(alice).to_have_url(f"{live_server}/inbox/{contact_id}")

    # Filter by the tag.
    alice.goto(f"{live_server}/contacts/")
    alice.get_by_label("Filter by tag").select_option(label="vip")
    expect(alice.locator("#contact-results")).to_contain_text("Maria Secret")
    expect(alice.locator("#contact-results")).not_to_contain_text("John Public")

    # Bob, another tenant, sees none of it, not even by URL.
    bob = new_page()
    sign_up(bob, live_server, "bob@other.test", "Bob Co")
    bob.get_by_role("link", name="Contacts").click()
    expect(bob.get_by_text("No contacts yet")).to_be_visible()
    bob.get_by_placeholder("Search name, phone or email").fill("maria")
    expect(bob.locator("#contact-results")).not_to_contain_text("Maria")
    response = bob.goto(contact_url)
    assert response.status == 404
    expect(bob.get_by_text("Maria")).to_have_count(0)
    bob.goto(f"{live_server}/tags/")
    expect(bob.get_by_text("vip")).to_have_count(0)


def test_contact_times_show_in_the_readers_zone(live_server, browser):
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    try:
        page = context.new_page()
        sign_up(page, live_server, "tokyo@shop.test", "Tokyo Shop")
        add_contact(page, live_server, "Kenji Sato", "+819012345678")
        added = page.locator("dt:text-is('Added') + dd time")
        expect(added).not_to_contain_text("UTC")
        at = datetime.fromisoformat(added.get_attribute("datetime")).astimezone(ZoneInfo("Asia/Tokyo"))
        hour = at.hour % 12 or 12
        expected = f"{at:%b} {at.day}, {at.year}, {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"
        assert added.inner_text().replace("\u202f", " ") == expected
        assert page.locator("dt:text-is('Phone') + dd").inner_text() == "+81 90-1234-5678"
    finally:
        context.close()
