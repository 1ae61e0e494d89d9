"""A running broadcast paused and resumed with the progress page's buttons, against a real worker and the
sandbox: nothing goes out while paused, the bar then reaches 100%, and every recipient was sent exactly once."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models import BroadcastRecipient, Message, WebhookEvent
from tests.e2e.steps import link_sandbox, log_in
from tests.messaging.test_pacing import add_contacts
from tests.workers import wait_until

RECIPIENTS = 400  # five seconds at the sandbox's 80/s: long enough to pause it half way


@pytest.fixture
def app_overrides():
    return {"SANDBOX_RECEIPT_DELAYS": (0, 0, 0)}  # each send's "sent" receipt comes back at once


def _states(in_tenant, tenant_id: int) -> Counter:
    with in_tenant(tenant_id):
        return Counter(dict(db.session.execute(
            select(BroadcastRecipient.state, func.count(BroadcastRecipient.id)).group_by(BroadcastRecipient.state))
            .all()))


def _in_flight(in_tenant, tenant_id: int) -> int:
    with in_tenant(tenant_id):
        return db.session.scalar(select(func.count(Message.id)).where(Message.status.in_(("queued", "sending"))))


def _sends_by_phone(in_tenant, tenant_id: int) -> Counter:
    """What the sandbox accepted, per phone: each accepted send comes back as one "sent" receipt."""
    with in_tenant(tenant_id):
        bodies = [json.loads(body) for body in db.session.scalars(select(WebhookEvent.body))]
    return Counter(b["to"] for b in bodies if b.get("event") == "status" and b.get("status") == "sent")


def test_pause_and_resume_a_running_broadcast_with_the_buttons(app, live_server, new_page, create_user, in_tenant,
                                                               worker_process):
    user = create_user()
    add_contacts(app, user.tenant_id, RECIPIENTS)
    page = new_page()
    log_in(page, live_server, user.email)
    link_sandbox(page, new_page, live_server)

    page.goto(f"{live_server}/broadcasts/new")
    page.get_by_label("Name", exact=True).fill("Pause me")
    page.locator("#body").fill("Hi {{first_name|there}}!")
    expect(page.locator("[data-audience-count]")).to_have_text(str(RECIPIENTS))
    page.get_by_role("button", name="Save and review").click()
    page.get_by_role("button", name=f"Send to {RECIPIENTS} contacts now").click()
    progress = page.locator("#broadcast-progress")
    expect(progress).to_have_attribute("data-status", "sending")

    tenant = user.tenant_id
    wait_until(lambda: _states(in_tenant, tenant)["sent"] > 0, timeout=30, interval=0.05, message="sending began")
    page.get_by_role("button", name="Pause").click()
    expect(progress).to_have_attribute("data-status", "paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    # What a send job had already claimed finishes, and the paused feeder settles it (within a round, not at
    # the minute sweep); the rest wait, queued, and nothing more goes out.
    wait_until(lambda: _in_flight(in_tenant, tenant) == 0 and _states(in_tenant, tenant)["sending"] == 0,
               timeout=15, message="in-flight sends finished and settled")
    paused = _states(in_tenant, tenant)
    assert 0 < paused["sent"] < RECIPIENTS and paused["queued"] == RECIPIENTS - paused["sent"], paused
    page.wait_for_timeout(2_000)  # a feeding round and a poll go by
    assert _states(in_tenant, tenant) == paused
    expect(page.locator("[data-percent]")).to_have_text(f"{paused['sent'] * 100 // RECIPIENTS}%")

    page.get_by_role("button", name="Resume").click()
    expect(progress).to_have_attribute("data-status", "sending")
    expect(page.locator("[data-percent]")).to_have_text("100%", timeout=60_000)
    expect(progress).to_have_attribute("data-status", "completed", timeout=15_000)
    assert _states(in_tenant, tenant) == Counter({"sent": RECIPIENTS})
    wait_until(lambda: sum(_sends_by_phone(in_tenant, tenant).values()) >= RECIPIENTS, timeout=30,
               message="every send's receipt came back")
    sends = _sends_by_phone(in_tenant, tenant)
    assert len(sends) == RECIPIENTS and set(sends.values()) == {1}, sends.most_common(3)
