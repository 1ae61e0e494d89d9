"""Conversation state: resolve and reopen, reopening on a new inbound message, the list filters and search."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.enums import ChannelKind
from extensions import db
from models import Contact
from models.base import utcnow
from models.tenancy import tenant_scope
from services.channels import ensure_channel
from services.inbound import apply_events
from services.inbox import conversations
from tests.factories import make_contact
from tests.inbox.conftest import HX, add_message, hx
from tests.inbox.test_conversations import names_in_order
from whatsapp.base import InboundMessage


def state_of(app, tenant_id: int, contact_id: int) -> tuple[str, object]:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.execute(select(Contact.conversation_status, Contact.resolved_at)
                                  .where(Contact.id == contact_id)).one()


@pytest.fixture
def chat(owner, in_tenant):
    """A conversation of the owner's: one inbound message from Rosa."""
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Rosa Resolve", phone="+14155550177")
        add_message(contact, "in", "Where is my parcel?", minutes_ago=10)
        return contact.id


def test_resolve_and_reopen_without_javascript(app, client, owner, chat):
    assert state_of(app, owner.tenant_id, chat)[0] == "open"
    page = client.get(f"/inbox/{chat}").get_data(as_text=True)
    assert f'action="/inbox/{chat}/resolve"' in page and ">Resolve</button>" in page

    response = client.post(f"/inbox/{chat}/resolve")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/{chat}")
    status, resolved_at = state_of(app, owner.tenant_id, chat)
    assert status == "resolved" and resolved_at is not None
    page = client.get(f"/inbox/{chat}").get_data(as_text=True)
    assert "Conversation resolved." in page and ">Reopen</button>" in page and 'class="pill pill-resolved"' in page

    assert client.post(f"/inbox/{chat}/reopen").status_code == 303
    assert state_of(app, owner.tenant_id, chat) == ("open", None)


def test_resolve_with_htmx_swaps_the_control_and_refreshes_the_list(app, client, owner, chat):
    response = client.post(f"/inbox/{chat}/resolve", headers=hx("conversation-state"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="conversation-state"') and "<html" not in html
    assert 'data-state="resolved"' in html and ">Reopen</button>" in html
    assert "inbox:changed" in response.headers["HX-Trigger"]
    reopened = client.post(f"/inbox/{chat}/reopen", headers=HX)
    assert reopened.status_code == 200 and ">Resolve</button>" in reopened.get_data(as_text=True)


def test_resolving_twice_is_refused_with_the_reason(app, client, owner, chat):
    client.post(f"/inbox/{chat}/resolve")
    again = client.post(f"/inbox/{chat}/resolve", headers=HX)
    assert again.status_code == 422
    assert "This conversation is already resolved." in again.get_data(as_text=True)
    assert ">Reopen</button>" in again.get_data(as_text=True)  # shows the state it really is in
    assert "HX-Trigger" not in again.headers
    plain = client.post(f"/inbox/{chat}/resolve", follow_redirects=True)
    assert "This conversation is already resolved." in plain.get_data(as_text=True)
    client.post(f"/inbox/{chat}/reopen")
    twice = client.post(f"/inbox/{chat}/reopen", headers=HX)
    assert twice.status_code == 422 and "already open" in twice.get_data(as_text=True)


@pytest.mark.parametrize("action", ["resolve", "reopen"])
def test_another_tenant_gets_404_and_changes_nothing(app, client, owner, chat, create_user, login, action):
    if action == "reopen":
        client.post(f"/inbox/{chat}/resolve")
    before = state_of(app, owner.tenant_id, chat)
    intruder = login(create_user(tenant_name="Intruder"), test_client=app.test_client())
    for headers in ({}, HX):
        assert intruder.post(f"/inbox/{chat}/{action}", headers=headers).status_code == 404
    assert state_of(app, owner.tenant_id, chat) == before


def test_resolving_changes_the_list_version(client, owner, chat):
    page = client.get("/inbox/", headers=hx("conversation-list")).get_data(as_text=True)
    version = re.search(r'data-version="([0-9a-f]+)"', page).group(1)
    assert client.get(f"/inbox/?v={version}", headers=hx("conversation-list")).status_code == 204
    client.post(f"/inbox/{chat}/resolve")
    changed = client.get(f"/inbox/?v={version}", headers=hx("conversation-list"))
    assert changed.status_code == 200 and 'class="resolved-mark"' in changed.get_data(as_text=True)


def inbound(text: str, message_id: str) -> InboundMessage:
    return InboundMessage(provider_message_id=message_id, wa_id="14155550177", timestamp=utcnow(), type="text",
                          text=text)


def test_a_new_inbound_message_reopens_a_resolved_conversation(app, client, owner, chat):
    client.post(f"/inbox/{chat}/resolve")
    with app.app_context(), tenant_scope(owner.tenant_id):
        apply_events(ensure_channel(ChannelKind.SANDBOX), [inbound("Still waiting!", "wamid.reopen-1")])
        db.session.commit()
    assert state_of(app, owner.tenant_id, chat) == ("open", None)
    # A duplicate delivery of a message already stored does not reopen a conversation resolved since.
    client.post(f"/inbox/{chat}/resolve")
    with app.app_context(), tenant_scope(owner.tenant_id):
        apply_events(ensure_channel(ChannelKind.SANDBOX), [inbound("Still waiting!", "wamid.reopen-1")])
        db.session.commit()
    assert state_of(app, owner.tenant_id, chat)[0] == "resolved"


@pytest.fixture
def three_states(owner, in_tenant, client):
    """Olive open and read, Rex resolved, Una open with an unread message."""
    with in_tenant(owner.tenant_id):
        olive, rex, una = (make_contact(name="Olive Open"), make_contact(name="Rex Resolved"),
                           make_contact(name="Una Unread"))
        add_message(olive, "in", "hello", minutes_ago=30)
        olive.last_read_at = utcnow()
        add_message(rex, "in", "thanks, all good", minutes_ago=20)
        rex.last_read_at = utcnow()
        add_message(una, "in", "are you open on sunday?", minutes_ago=10)
        ids = {"olive": olive.id, "rex": rex.id, "una": una.id}
    assert client.post(f"/inbox/{ids['rex']}/resolve").status_code == 303
    return ids


@pytest.mark.parametrize("state, expected", [
    ("", ["Una Unread", "Rex Resolved", "Olive Open"]),
    ("all", ["Una Unread", "Rex Resolved", "Olive Open"]),
    ("open", ["Una Unread", "Olive Open"]),
    ("resolved", ["Rex Resolved"]),
    ("unread", ["Una Unread"]),
    ("nonsense", ["Una Unread", "Rex Resolved", "Olive Open"]),
])
def test_the_list_filters_by_state(client, three_states, state, expected):
    html = client.get(f"/inbox/?state={state}", headers=hx("conversation-list")).get_data(as_text=True)
    assert names_in_order(html) == expected


def test_the_filter_is_kept_in_the_poll_the_tabs_and_the_conversation_links(client, three_states):
    page = client.get("/inbox/?state=open&q=ol").get_data(as_text=True)
    assert re.search(r'<input type="radio" name="state" value="open" checked>', page)
    poll = re.search(r'<div id="conversation-list"[^>]*hx-get="([^"]+)"', page).group(1)
    assert "state=open" in poll and "q=ol" in poll
    assert f'href="/inbox/{three_states["olive"]}?q=ol&amp;state=open"' in page
    # The conversation opened from a filtered list keeps the list beside it filtered.
    beside = client.get(f"/inbox/{three_states['olive']}?q=ol&state=open").get_data(as_text=True)
    assert names_in_order(beside) == ["Olive Open"]
    assert "state=open" in re.search(r'<div id="conversation-list"[^>]*hx-get="([^"]+)"', beside).group(1)
    empty = client.get("/inbox/?state=resolved&q=una", headers=hx("conversation-list")).get_data(as_text=True)
    assert "No resolved conversation matches" in empty


def test_pagination_keeps_the_filter(make_app, create_user, login, in_tenant):
    app = make_app(INBOX_PER_PAGE=2)
    user = create_user()
    client = login(user, test_client=app.test_client())
    with in_tenant(user.tenant_id):
        for n in range(5):
            add_message(make_contact(name=f"Person {n}"), minutes_ago=10 - n)
    page = client.get("/inbox/?state=unread").get_data(as_text=True)
    assert "/inbox/?page=2&amp;state=unread" in page
    second = client.get("/inbox/?page=2&state=unread", headers=hx("conversation-list")).get_data(as_text=True)
    assert names_in_order(second) == ["Person 2", "Person 1"]


def test_search_finds_message_text(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        add_message(make_contact(name="Walter White"), "in", "Do you sell blue umbrellas?")
        add_message(make_contact(name="Gale Green"), "in", "Need a red raincoat")
    html = client.get("/inbox/?q=UMBRELLA", headers=hx("conversation-list")).get_data(as_text=True)
    assert names_in_order(html) == ["Walter White"]


def test_percent_and_underscore_are_literal_in_the_search(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        add_message(make_contact(name="Percy"), "in", "Is it 100% cotton?")
        add_message(make_contact(name="Plain"), "in", "Is it 1000 cotton?")
        add_message(make_contact(name="Under_Score"), "in", "code A_1")
        add_message(make_contact(name="UnderXScore"), "in", "code AB1")
    def search(q):
        return names_in_order(client.get("/inbox/", query_string={"q": q}, headers=hx("conversation-list"))
                              .get_data(as_text=True))
    assert search("100%") == ["Percy"]
    assert search("%") == ["Percy"]
    assert search("A_1") == ["Under_Score"]
    assert search("under_") == ["Under_Score"]
    assert search("_") == ["Under_Score"]


def _search_plan(app, tenant_id: int, connection=None) -> str:
    """EXPLAIN of the inbox search for a text, with sequential scans priced out (the tables are nearly empty)."""
    with app.app_context(), tenant_scope(tenant_id):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the trigram index exists on PostgreSQL only")
        sql = conversations("umbrella_50%").compile(db.engine, compile_kwargs={"literal_binds": True})
        conn = connection or db.session.connection()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        db.session.rollback()
    return plan


def test_message_search_is_shaped_for_the_trigram_index(app, owner, owner_engine):
    """Read beneath row-level security (as the owner), the search runs once through ix_messages_body_trgm."""
    with owner_engine.begin() as connection:
        plan = _search_plan(app, owner.tenant_id, connection)
    assert "ix_messages_body_trgm" in plan, plan


def test_message_search_uses_the_trigram_index_under_row_level_security(app, owner):
    """Migration 0009 marks ILIKE leakproof, so the application role's search reaches the index too."""
    assert "ix_messages_body_trgm" in _search_plan(app, owner.tenant_id)
