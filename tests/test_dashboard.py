"""The home page: where sign-up and login land, its getting-started steps and its counts, per tenant."""
from __future__ import annotations

import re

import pytest

from core.enums import ChannelKind, ConnectionState, ConversationStatus
from models import Contact
from services.channels import ensure_channel, set_state
from services.dashboard import overview
from tests.conftest import TEST_PASSWORD
from tests.factories import make_contact
from tests.inbox.conftest import add_message

STEPS = ("step-whatsapp", "step-contacts", "step-message")


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def steps_done(html: str) -> dict[str, bool]:
    """Each checklist step's id and whether the page shows it ticked."""
    found = dict(re.findall(r'<li id="(step-[a-z]+)" class="(?:done|todo)" data-done="(true|false)"', html))
    assert set(found) == set(STEPS), html
    return {step: found[step] == "true" for step in STEPS}


def stat(html: str, name: str) -> int:
    match = re.search(rf'id="stat-{name}"><p class="stat-value">(\d+)</p>', html)
    assert match, f"no {name} count on the page"
    return int(match.group(1))


def link_sandbox(tenant_id, in_tenant, state=ConnectionState.CONNECTED):
    with in_tenant(tenant_id):
        set_state(ensure_channel(ChannelKind.SANDBOX), state)


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_sign_up_lands_on_the_checklist_with_nothing_done(client):
    response = client.post("/signup", data={"tenant_name": "Fresh Shop", "email": "fresh@example.com",
                                            "password": TEST_PASSWORD, "confirm": TEST_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] in ("/", "http://localhost/")
    page = client.get("/").get_data(as_text=True)
    assert "Getting started" in page and "0 of 3 done" in page
    assert steps_done(page) == dict.fromkeys(STEPS, False)
    # Each step links to where it is done.
    for href in ('href="/settings/whatsapp"', 'href="/contacts/new"', 'href="/inbox/"'):
        assert href in page


def test_login_lands_on_the_home_page(client, create_user):
    user = create_user()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] in ("/", "http://localhost/")
    assert "Getting started" in client.get("/").get_data(as_text=True)


def test_each_step_ticks_when_its_data_exists(client, owner, in_tenant):
    link_sandbox(owner.tenant_id, in_tenant, ConnectionState.PENDING)
    assert steps_done(client.get("/").get_data(as_text=True)) == dict.fromkeys(STEPS, False)  # linking is not linked

    link_sandbox(owner.tenant_id, in_tenant)
    page = client.get("/").get_data(as_text=True)
    assert steps_done(page) == {"step-whatsapp": True, "step-contacts": False, "step-message": False}

    with in_tenant(owner.tenant_id):
        contact = make_contact()
        add_message(contact, "in", "hello")  # a message received is not a message sent
        contact_id = contact.id
    page = client.get("/").get_data(as_text=True)
    assert steps_done(page) == {"step-whatsapp": True, "step-contacts": True, "step-message": False}

    with in_tenant(owner.tenant_id) as session:
        add_message(session.get(Contact, contact_id), "out", "hi!", status="queued")
    page = client.get("/").get_data(as_text=True)
    assert steps_done(page) == dict.fromkeys(STEPS, True) and "3 of 3 done" in page


def test_counts(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        open_chat, resolved_chat, _silent = make_contact(), make_contact(), make_contact()
        add_message(open_chat, "in", "hello")
        add_message(open_chat, "out", "sent", status="sent")
        add_message(open_chat, "out", "read", status="read", minutes_ago=60 * 24 * 6)
        add_message(open_chat, "out", "too old", status="delivered", minutes_ago=60 * 24 * 8)
        add_message(open_chat, "out", "failed", status="failed")
        add_message(open_chat, "out", "still queued", status="queued")
        add_message(resolved_chat, "out", "done", status="delivered")
        resolved_chat.conversation_status = ConversationStatus.RESOLVED
    page = client.get("/").get_data(as_text=True)
    # Three contacts; one open conversation (resolved and never-written contacts are not open
    # conversations); three messages the provider took within the last 7 days.
    assert (stat(page, "contacts"), stat(page, "open"), stat(page, "sent")) == (3, 1, 3)


def test_home_counts_only_the_own_tenant(app, client, owner, create_user, in_tenant):
    other = create_user()
    link_sandbox(other.tenant_id, in_tenant)
    with in_tenant(other.tenant_id):
        theirs = make_contact()
        add_message(theirs, "in", "hello")
        add_message(theirs, "out", "hi", status="sent")
    page = client.get("/").get_data(as_text=True)
    assert steps_done(page) == dict.fromkeys(STEPS, False)
    assert (stat(page, "contacts"), stat(page, "open"), stat(page, "sent")) == (0, 0, 0)
    with in_tenant(owner.tenant_id):
        mine = overview()
    with in_tenant(other.tenant_id):
        theirs_overview = overview()
    assert (mine.contacts, mine.open_conversations, mine.sent_recently, mine.steps_done) == (0, 0, 0, 0)
    assert (theirs_overview.contacts, theirs_overview.open_conversations, theirs_overview.sent_recently,
            theirs_overview.steps_done) == (1, 1, 1, 3)
