"""A workflow built in a real browser: keyword PRICE -> tag `lead` -> send a template -> create a deal in stage New,
fired by a message from the sandbox phone, its run log showing each step, and the template arriving on the phone."""
from __future__ import annotations

import time

from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import ContactTag, Deal, MessageTemplate, Stage, Tag
from tests.channels.conftest import gateway, graph  # noqa: F401
from tests.e2e.steps import link_sandbox, log_in
from tests.e2e.test_inbox_flow import app_overrides  # noqa: F401
from tests.factories import make_tag


def add_action(page, label: str) -> None:
    steps = page.locator("#actions li[data-step]")
    before = steps.count()
    page.get_by_label("New action").select_option(label=label)
    page.get_by_role("button", name="Add action").click()
    expect(steps).to_have_count(before + 1)


def test_keyword_price_tags_sends_a_template_and_opens_a_deal(app, live_server, new_page, create_user, in_tenant,
                                                              worker_process):
    user = create_user()
    with in_tenant(user.tenant_id):
        make_tag("lead")
        # The sandbox plays the Cloud API: every template is approved there.
        db.session.add(MessageTemplate(name="price_list", language="en_US", status="APPROVED", variable_count=1,
                                       body_text="Hi {{1}}, our prices: from 10 EUR.",
                                       components=[{"type": "BODY", "text": "Hi {{1}}, our prices: from 10 EUR."}]))
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, user.email)
    phone = link_sandbox(page, new_page, live_server)

    page.get_by_role("link", name="Workflows").first.click()
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Name", exact=True).fill("Price leads")
    page.get_by_label("When the message is").select_option("keyword")
    page.get_by_label("Keyword or pattern").fill("PRICE")
    add_action(page, "Add tag")
    page.get_by_label("Tag", exact=True).select_option(label="lead")
    add_action(page, "Send a template")
    page.get_by_label("Template", exact=True).select_option(label="price_list (en_US)")
    page.get_by_label("Variables, one a line").fill("{{first_name}}")
    add_action(page, "Create a deal")
    page.get_by_label("Title", exact=True).fill("Prices for {{name}}")
    page.get_by_label("Stage", exact=True).select_option(label="Sales › New")
    # What was typed before each htmx re-render is still there.
    expect(page.get_by_label("Keyword or pattern")).to_have_value("PRICE")
    expect(page.get_by_label("Tag", exact=True)).not_to_have_value("")
    page.get_by_role("button", name="Save workflow").click()
    expect(page.locator(".flash-success")).to_contain_text("Workflow Price leads saved")
    page.get_by_role("button", name="Enable Price leads").click()
    expect(page.locator("#workflow-list [data-state]")).to_have_text("On")

    phone.get_by_label("Customer name").fill("Pia Price")
    phone.get_by_label("Message").fill("Hi! What is the price?")
    phone.get_by_role("button", name="Send to the business").click()

    page.locator("#workflow-list").get_by_role("link", name="Price leads").click()
    page.get_by_role("link", name="Run log").click()
    run = page.locator(".workflow-run").first
    deadline = time.monotonic() + 45
    while not page.locator('.workflow-run[data-state="done"]').count() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    expect(run).to_have_attribute("data-state", "done")
    expect(run).to_contain_text("contains 'PRICE': yes")
    expect(run).to_contain_text("1. Add tag: tagged lead")
    expect(run).to_contain_text("2. Send a template: queued template price_list")
    expect(run).to_contain_text("3. Create a deal: created deal 'Prices for Pia Price' in New")

    deadline = time.monotonic() + 30
    while not phone.get_by_text("Hi Pia, our prices: from 10 EUR.").count() and time.monotonic() < deadline:
        phone.reload()
        phone.wait_for_timeout(500)
    expect(phone.get_by_text("Hi Pia, our prices: from 10 EUR.")).to_be_visible()
    with in_tenant(user.tenant_id):
        deal = db.session.scalar(select(Deal))
        assert db.session.scalar(select(Stage.name).where(Stage.id == deal.stage_id)) == "New"
        assert db.session.scalar(select(Tag.name).join(ContactTag, ContactTag.tag_id == Tag.id)
                                 .where(ContactTag.contact_id == deal.contact_id)) == "lead"
