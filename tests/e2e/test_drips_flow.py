"""A drip sequence in a real browser: three steps, a sandbox contact enrolled from their page, the first step
arriving on the pretend phone, and a reply from the phone stopping the enrolment with "replied"."""
from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.channels.conftest import gateway, graph  # noqa: F401
from tests.e2e.steps import link_sandbox, log_in
from tests.e2e.test_inbox_flow import app_overrides  # noqa: F401


def add_step(page, wait: str, unit: str, body: str) -> None:
    page.get_by_role("button", name="Add a step").click()
    page.get_by_label("Wait").fill(wait)
    page.get_by_label("Unit").select_option(unit)
    page.get_by_label("Message").fill(body)
    page.get_by_role("button", name="Save step").click()
    expect(page.locator(".flash-success")).to_contain_text("Step saved.")


def test_a_sequence_reaches_a_sandbox_contact_and_a_reply_stops_it(app, live_server, new_page, create_user,
                                                                    worker_process):
    user = create_user()
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, user.email)
    phone = link_sandbox(page, new_page, live_server)
    phone.get_by_label("Customer name").fill("Rita Drip")
    phone.get_by_label("Message").fill("Hello, I signed up")
    phone.get_by_role("button", name="Send to the business").click()

    page.get_by_role("link", name="Sequences").first.click()
    page.get_by_role("button", name="New sequence").first.click()
    page.get_by_label("Name", exact=True).fill("Welcome series")
    page.get_by_role("button", name="Save sequence").click()
    expect(page.locator(".flash-success")).to_contain_text("Sequence Welcome series saved.")
    add_step(page, "0", "minutes", "Welcome aboard, {{first_name|friend}}!")
    add_step(page, "1", "days", "A tip for your first day")
    add_step(page, "3", "days", "How is it going?")
    expect(page.locator(".drip-step-list li")).to_have_count(3)

    page.get_by_role("link", name="Contacts").first.click()
    page.get_by_role("link", name="Rita Drip").click(timeout=15_000)
    page.get_by_role("button", name="Sequences", exact=True).click()
    page.get_by_label("Enrol in").select_option(label="Welcome series")
    page.get_by_role("button", name="Enrol").click()
    expect(page.locator(".flash-success")).to_contain_text("Rita Drip enrolled in Welcome series.")

    # The first step is due at once: the worker's timed job queues it and the outbox sends it.
    deadline = time.monotonic() + 30
    while not phone.get_by_text("Welcome aboard, Rita!").count() and time.monotonic() < deadline:
        phone.reload()
        phone.wait_for_timeout(500)
    expect(phone.get_by_text("Welcome aboard, Rita!")).to_be_visible()
    assert not phone.get_by_text("A tip for your first day").count()

    phone.get_by_label("Message").fill("Thanks! Who is this?")
    phone.get_by_role("button", name="Send to the business").click()
    page.get_by_role("link", name="Sequences").first.click()
    page.get_by_role("link", name="Enrolments").first.click()
    row = page.locator("#enrolment-list tr", has_text="Rita Drip")
    deadline = time.monotonic() + 30
    while "replied" not in (row.text_content() or "") and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    expect(row.locator("[data-state]")).to_have_text("stopped: replied")
    expect(row.get_by_role("button", name="Restart")).to_be_visible()
