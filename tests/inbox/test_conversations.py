"""The conversation list: ordering, unread counts, read marks, search, paging and cheap polling."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import Contact
from models.tenancy import tenant_scope
from tests.factories import make_contact
from tests.inbox.conftest import add_message, hx


def names_in_order(html: str) -> list[str]:
    return re.findall(r'class="conversation-name">([^<]+)<', html)


def unread_badges(html: str) -> dict[str, int]:
    """Contact name -> unread count shown in the list."""
    found = {}
    for item in re.findall(r"<li>\s*<a href=\"/inbox/\d+\".*?</a>\s*</li>", html, re.S):
        name = re.search(r'class="conversation-name">([^<]+)<', item).group(1)
        badge = re.search(r'class="unread-badge"[^>]*>(\d+)<', item)
        found[name] = int(badge.group(1)) if badge else 0
    return found


def test_newest_conversation_first_with_unread_counts(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        old, recent, quiet = make_contact(name="Olga Old"), make_contact(name="Rita Recent"), make_contact(name="Quiet")
        add_message(old, "in", "first", minutes_ago=300)
        add_message(old, "in", "second", minutes_ago=200)
        add_message(recent, "out", "We shipped it", minutes_ago=5)
        add_message(recent, "in", "Thanks!", minutes_ago=2)
        # A contact imported with messages but no last_message_at still sorts by its newest message.
        fallback = make_contact(name="Fiona Fallback")
        add_message(fallback, "in", "hi", minutes_ago=100)
        fallback.last_message_at = None
        assert quiet.id  # a contact without messages is not a conversation
    page = client.get("/inbox/").get_data(as_text=True)
    assert names_in_order(page) == ["Rita Recent", "Fiona Fallback", "Olga Old"]
    assert unread_badges(page) == {"Rita Recent": 1, "Fiona Fallback": 1, "Olga Old": 2}
    assert "Thanks!" in page and "↙" in page


def test_preview_shows_direction_and_placeholders(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        photo, long = make_contact(name="Photo"), make_contact(name="Long")
        add_message(photo, "in", None, type="image", media={"media_id": "1", "mime_type": "image/jpeg"})
        add_message(long, "out", "x" * 300)
    page = client.get("/inbox/").get_data(as_text=True)
    assert "[image]" in page
    assert "x" * 79 + "…" in page and "x" * 81 not in page
    assert 'class="dir dir-out"' in page


def test_opening_a_conversation_marks_it_read(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Reader")
        add_message(contact, "in", "one", minutes_ago=3)
        add_message(contact, "in", "two", minutes_ago=1)
        contact_id = contact.id
    assert unread_badges(client.get("/inbox/").get_data(as_text=True)) == {"Reader": 2}
    page = client.get(f"/inbox/{contact_id}")
    assert page.status_code == 200
    with app.app_context(), tenant_scope(owner.tenant_id):
        assert db.session.scalar(select(Contact.last_read_at).where(Contact.id == contact_id)) is not None
    assert unread_badges(client.get("/inbox/").get_data(as_text=True)) == {"Reader": 0}
    with in_tenant(owner.tenant_id):
        add_message(db.session.get(Contact, contact_id), "in", "three", minutes_ago=-0.01)
    assert unread_badges(client.get("/inbox/").get_data(as_text=True)) == {"Reader": 1}


def test_search_returns_only_the_list_for_htmx(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        alice, bob = make_contact(name="Alice Smith", phone="+14155550101"), make_contact(name="Bob Jones",
                                                                                        phone="+5511987654321")
        add_message(alice)
        add_message(bob)
    by_name = client.get("/inbox/?q=alice", headers=hx("conversation-list")).get_data(as_text=True)
    assert by_name.lstrip().startswith("<div id=\"conversation-list\"") and "<html" not in by_name
    assert "Alice Smith" in by_name and "Bob Jones" not in by_name
    by_phone = client.get("/inbox/?q=98765", headers=hx("conversation-list")).get_data(as_text=True)
    assert "Bob Jones" in by_phone and "Alice Smith" not in by_phone
    none = client.get("/inbox/?q=zzz", headers=hx("conversation-list")).get_data(as_text=True)
    assert "No conversation matches" in none
    full = client.get("/inbox/?q=alice").get_data(as_text=True)
    assert "<html" in full and 'value="alice"' in full


def test_pagination(make_app, create_user, login, in_tenant):
    app = make_app(INBOX_PER_PAGE=2)
    user = create_user()
    client = login(user, test_client=app.test_client())
    with in_tenant(user.tenant_id):
        for n in range(5):
            add_message(make_contact(name=f"Person {n}"), minutes_ago=10 - n)
    first = client.get("/inbox/").get_data(as_text=True)
    assert names_in_order(first) == ["Person 4", "Person 3"] and "1 / 3" in first
    last = client.get("/inbox/?page=3", headers=hx("conversation-list")).get_data(as_text=True)
    assert names_in_order(last) == ["Person 0"]


def test_list_poll_answers_204_until_something_changes(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Poller")
        add_message(contact, "in", "first")
        contact_id = contact.id
    page = client.get("/inbox/", headers=hx("conversation-list")).get_data(as_text=True)
    version = re.search(r'data-version="([0-9a-f]+)"', page).group(1)
    unchanged = client.get(f"/inbox/?v={version}", headers=hx("conversation-list"))
    assert unchanged.status_code == 204 and unchanged.data == b""
    with in_tenant(owner.tenant_id):
        add_message(db.session.get(Contact, contact_id), "in", "second news")
    changed = client.get(f"/inbox/?v={version}", headers=hx("conversation-list"))
    assert changed.status_code == 200 and "second news" in changed.get_data(as_text=True)


def test_everything_a_customer_writes_is_escaped(client, owner, in_tenant):
    evil = "<script>alert(1)</script>"
    with in_tenant(owner.tenant_id):
        contact = make_contact(name=evil, notes=evil)
        add_message(contact, "in", evil)
        add_message(contact, "in", None, type="location", payload={"latitude": 1, "longitude": 2, "name": evil})
        contact_id = contact.id
    for url in ("/inbox/", f"/inbox/{contact_id}", f"/inbox/{contact_id}/thread"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)" in page


def test_empty_inbox_and_unlinked_banner(client, owner, in_tenant):
    assert "No conversations yet" in client.get("/inbox/").get_data(as_text=True)
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Someone")
        add_message(contact)
        contact_id = contact.id
    page = client.get(f"/inbox/{contact_id}").get_data(as_text=True)
    assert "WhatsApp is not linked" in page
    assert f'href="/contacts/{contact_id}"' in page


def test_inbox_needs_login(app):
    response = app.test_client().get("/inbox/")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
