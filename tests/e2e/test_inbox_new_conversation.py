"""The inbox in a real browser: start a conversation, quick replies that stay and suggest, resolve and filter,
a header that does not move between pages, and a phone-sized screen."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from extensions import db
from models import QuickReply
from models.base import utcnow
from models.tenancy import tenant_scope
from services.channels import get_channel
from services.inbound import apply_events
from tests.e2e.steps import log_in
from tests.factories import make_contact
from tests.inbox.conftest import add_message, sandbox_owner  # noqa: F401  (fixture)
from whatsapp.base import InboundMessage

QUICK_REPLIES = {"thanks": "Thank you for your order!", "then": "Then we will ship it tomorrow.",
                 "hours": "We are open 9 to 5."}


def picker_options(page) -> list[str]:
    return page.locator("#quick-reply-picker option").all_inner_texts()


def test_new_conversation_quick_replies_and_suggestions(live_server, new_page, sandbox_owner, in_tenant):
    with in_tenant(sandbox_owner.tenant_id) as session:
        session.add_all([QuickReply(shortcut=key, body=body) for key, body in QUICK_REPLIES.items()])
        make_contact(name="Maria Pick", phone="+14155550131")
        make_contact(name="Oscar Other", phone="+14155550132")
    page = new_page()
    log_in(page, live_server, sandbox_owner.email)
    page.goto(f"{live_server}/inbox/")
    page.get_by_role("button", name="New conversation").click()
    expect(page.get_by_role("heading", name="New conversation")).to_be_visible()

    # Live results while typing, without a reload.
    page.evaluate("window.__marker = 'no reload'")
    page.get_by_label("Search contacts").fill("mar")
    picks = page.locator("#contact-picks")
    expect(picks).to_contain_text("Maria Pick")
    expect(picks).not_to_contain_text("Oscar Other")
    assert page.evaluate("window.__marker") == "no reload"

    # A refused contact keeps what was typed and says why; a good one lands in its chat.
    page.get_by_label("Name").fill("Nina New")
    page.get_by_label("Phone").fill("12")
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("#new-contact-form")).to_contain_text("phone")
    expect(page.get_by_label("Name")).to_have_value("Nina New")
    page.get_by_label("Phone").fill("(415) 555-0142")
    page.get_by_role("button", name="Start conversation").click()
    expect(page).to_have_url(re.compile(r"/inbox/\d+$"))
    expect(page.get_by_role("heading", name="Nina New", level=1)).to_be_visible()
    expect(page.get_by_text("No messages yet.")).to_be_visible()
    # Read in the workspace's region (US) and stored international, however the page formats it.
    assert "14155550142" in re.sub(r"\D", "", page.locator(".chat-title").inner_text())

    box = page.get_by_label("Message")
    expected_options = ["Quick replies…", "/hours", "/thanks", "/then"]
    assert picker_options(page) == expected_options

    # "/th" offers the two quick replies starting so; arrows move, Enter takes the highlighted one.
    box.fill("")
    box.press_sequentially("Hello! /th")
    suggestions = page.locator("#quick-reply-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_count(2)
    expect(suggestions.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(suggestions.get_by_role("option").filter(has_text="/then")).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("Hello! " + QUICK_REPLIES["then"])
    expect(suggestions).to_be_hidden()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#thread .bubble-out", has_text=QUICK_REPLIES["then"])).to_be_visible()
    expect(box).to_have_value("")
    assert picker_options(page) == expected_options  # still full after a send

    # Escape closes the list and leaves the text alone; the typed /thanks + Tab still expands.
    box.press_sequentially("/h")
    expect(suggestions).to_be_visible()
    box.press("Escape")
    expect(suggestions).to_be_hidden()
    expect(box).to_have_value("/h")
    box.fill("")
    box.press_sequentially("/thanks")
    box.press("Tab")
    expect(box).to_have_value(QUICK_REPLIES["thanks"])

    # A refused send (nothing to send) keeps the quick replies too, and the picker inserts one.
    box.fill("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#reply-error")).to_be_visible()
    assert picker_options(page) == expected_options
    page.get_by_label("Insert a quick reply").select_option("hours")
    expect(page.get_by_label("Message")).to_have_value(QUICK_REPLIES["hours"])
    # A click on a suggestion takes it as well.
    box = page.get_by_label("Message")
    box.fill("")
    box.press_sequentially("/tha")
    page.locator("#quick-reply-suggestions").get_by_role("option").filter(has_text="/thanks").click()
    expect(box).to_have_value(QUICK_REPLIES["thanks"])


def test_resolve_filter_and_reopen_on_a_new_message(app, live_server, new_page, sandbox_owner,
                                                    in_tenant):
    with in_tenant(sandbox_owner.tenant_id):
        rosa, otto = make_contact(name="Rosa Resolve", phone="+14155550177"), make_contact(name="Otto Open")
        add_message(rosa, "in", "Where is my parcel?", minutes_ago=5)
        add_message(otto, "in", "Do you ship to Spain?", minutes_ago=10)
        rosa_id = rosa.id
    page = new_page()
    log_in(page, live_server, sandbox_owner.email)
    page.goto(f"{live_server}/inbox/{rosa_id}")
    page.evaluate("window.__marker = 'no reload'")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#conversation-state .pill-resolved")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    rosa_row = page.locator("#conversation-list a.conversation", has_text="Rosa Resolve")
    expect(rosa_row.locator(".resolved-mark")).to_be_visible()  # the list refreshed at once
    assert page.evaluate("window.__marker") == "no reload"

    page.goto(f"{live_server}/inbox/")
    rows = page.locator("#conversation-list .conversation-name")
    page.get_by_text("Resolved", exact=True).click()
    expect(rows).to_have_text(["Rosa Resolve"])
    expect(page).to_have_url(re.compile(r"state=resolved"))
    page.get_by_text("Open", exact=True).click()
    expect(rows).to_have_text(["Otto Open"])
    page.get_by_label("Search conversations").fill("spain")
    expect(rows).to_have_text(["Otto Open"])
    page.get_by_label("Search conversations").fill("")
    page.get_by_text("Resolved", exact=True).click()
    expect(rows).to_have_text(["Rosa Resolve"])

    # Rosa writes again: her conversation opens, and the resolved filter's poll drops her.
    with app.app_context(), tenant_scope(sandbox_owner.tenant_id):
        apply_events(get_channel(), [InboundMessage(provider_message_id="wamid.again", wa_id="14155550177",
                                                    timestamp=utcnow(), type="text", text="Any news?")])
        db.session.commit()
    expect(page.get_by_text("No resolved conversations.")).to_be_visible(timeout=12_000)
    page.get_by_text("Unread", exact=True).click()
    expect(rows).to_have_text(["Rosa Resolve", "Otto Open"])


def test_the_list_stays_put_between_inbox_pages_and_fits_a_phone(live_server, new_page, sandbox_owner,
                                                                 in_tenant):
    with in_tenant(sandbox_owner.tenant_id):
        contact = make_contact(name="Lena Layout")
        add_message(contact, "in", "Hi there, a long message " * 8, minutes_ago=3)
        contact_id = contact.id
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, sandbox_owner.email)
    boxes = {}
    for path in ("/inbox/", f"/inbox/{contact_id}", "/inbox/new"):
        page.goto(live_server + path)
        boxes[path] = page.locator(".inbox-list-pane").bounding_box()
    tops = {path: round(box["y"]) for path, box in boxes.items()}
    heights = {path: round(box["height"]) for path, box in boxes.items()}
    assert len(set(tops.values())) == 1, tops
    assert len(set(heights.values())) == 1, heights

    # 390 px wide: the list fills the width on the inbox page; the chat and its reply box fit on the conversation.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/inbox/")
    row = page.locator("#conversation-list a.conversation").first.bounding_box()
    assert row["x"] >= 0 and row["x"] + row["width"] <= 390
    page.locator("#conversation-list a.conversation").first.click()
    expect(page.get_by_role("heading", name="Lena Layout", level=1)).to_be_visible()
    expect(page.locator(".inbox-list-pane")).to_be_hidden()
    for selector in (".chat-head", "#reply-body", "#reply-box button.send", "#conversation-state button"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
        assert box["y"] + box["height"] <= 844, (selector, box)
    inbox = page.locator(".inbox").bounding_box()
    assert inbox["x"] >= 0 and inbox["x"] + inbox["width"] <= 390
