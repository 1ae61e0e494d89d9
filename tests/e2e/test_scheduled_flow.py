"""Scheduled messages in a real browser: schedule from a conversation, see it listed, see it sent; cancel another."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select, update

from extensions import db
from models import Message, ScheduledMessage, Tenant, User
from models.base import utcnow
from services.queueing import enqueue_now
from tests.channels.conftest import gateway, graph  # noqa: F401
from tests.e2e.test_contacts_flow import sign_up
from tests.e2e.test_inbox_flow import app_overrides, link_sandbox  # noqa: F401

SENT = ("sent", "delivered", "read")
SWEEP_JOB = "jobs.scheduling.queue_due_messages"


def in_a_while(app, email: str, minutes: int) -> str:
    """A time `minutes` from now as the datetime-local input wants it, in the workspace's zone."""
    with app.app_context():
        zone = db.session.scalar(select(Tenant.time_zone).join(User, User.tenant_id == Tenant.id)
                                 .where(User.email == email))
    local = (utcnow() + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M")


def wait_until_sent(in_tenant, tenant_id: int, timeout: float = 60) -> None:
    """The worker process sends the queued message; wait for it to leave the queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with in_tenant(tenant_id):
            if db.session.scalar(select(Message.status).where(Message.origin == "scheduled")) in SENT:
                return
        time.sleep(0.2)
    with in_tenant(tenant_id):
        seen = list(db.session.execute(select(Message.status, Message.error_title)
                                       .where(Message.origin == "scheduled")))
    raise AssertionError(f"the scheduled message was not sent: {seen}")


def test_schedule_from_a_conversation_then_see_it_sent(app, live_server, new_page, worker_process, in_tenant):
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_up(page, live_server, "later@shop.test", "Later Shop")
    phone = link_sandbox(page, new_page, live_server)
    phone.get_by_label("Customer name").fill("Rita Later")
    phone.get_by_label("Message").fill("Remind me tomorrow, please")
    phone.get_by_role("button", name="Send to the business").click()

    page.get_by_role("link", name="Inbox").click()
    page.locator("#conversation-list a.conversation", has_text="Rita Later").click(timeout=15_000)
    page.get_by_role("link", name="Schedule a message for later…").click()
    expect(page.get_by_role("heading", name="Schedule a message")).to_be_visible()
    expect(page.locator("#schedule-zone")).to_contain_text("Time zone:")
    page.get_by_label("Send at").fill(in_a_while(app, "later@shop.test", 10))
    page.get_by_label("Message").fill("Your reminder, as promised")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".flash-success")).to_contain_text("Message scheduled for")
    expect(page.get_by_role("heading", name="Rita Later", level=1)).to_be_visible()  # back in the conversation

    page.get_by_role("link", name="Scheduled", exact=True).click()
    row = page.locator(".scheduled-row", has_text="Your reminder, as promised")
    expect(row).to_contain_text("Scheduled")
    expect(row).to_contain_text("Rita Later")

    # Time passes: the message is due; the minute's sweep queues it and the worker sends it.
    with app.app_context():
        tenant_id = db.session.scalar(select(User.tenant_id).where(User.email == "later@shop.test"))
    with in_tenant(tenant_id):
        db.session.execute(update(ScheduledMessage).values(due_at=utcnow() - timedelta(seconds=1)))
    with app.app_context():  # what the cron scheduler does every minute: the sweep job, run by a worker
        enqueue_now(SWEEP_JOB)
    wait_until_sent(in_tenant, tenant_id)

    page.get_by_role("link", name="Inbox").click()
    page.locator("#conversation-list a.conversation", has_text="Rita Later").click()
    sent = page.locator("#thread .bubble-out", has_text="Your reminder, as promised")
    expect(sent).to_have_attribute("data-status", re.compile("^(sent|delivered|read)$"))
    phone.reload()
    expect(phone.get_by_text("Your reminder, as promised")).to_be_visible(timeout=15_000)

    # Another one, from the contact's page, cancelled before it is due.
    page.get_by_role("link", name="Contact", exact=True).click()
    page.get_by_role("button", name="Schedule", exact=True).click()
    page.get_by_label("Send at").fill(in_a_while(app, "later@shop.test", 120))
    page.get_by_label("Message").fill("Never mind this one")
    page.get_by_role("button", name="Schedule").click()
    mine = page.locator("#contact-scheduled .scheduled-row", has_text="Never mind this one")
    expect(mine).to_contain_text("Scheduled")
    mine.get_by_role("button", name="Cancel").click()
    expect(page.locator(".flash-success")).to_contain_text("Scheduled message cancelled.")
    expect(page.locator("#contact-scheduled .scheduled-row", has_text="Never mind this one")).to_contain_text(
        "Cancelled")
    page.get_by_role("link", name="Scheduled", exact=True).click()
    expect(page.locator("#scheduled-empty")).to_have_text("Nothing is scheduled.")
