"""The polls that keep pages live: the sandbox phone's screen and the navigation badge (204 while unchanged)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.enums import ChannelKind, ConnectionState
from extensions import db
from models import Channel
from services.channels import set_state
from tests.channels.helpers import channel_of
from tests.factories import make_contact
from tests.inbox.conftest import add_message

HX = {"HX-Request": "true"}


def version_of(html: str, attribute: str = "data-version") -> str:
    return re.search(rf'{attribute}="([^"]+)"', html).group(1)


def badge_version(html: str) -> str:
    return re.search(r'/settings/whatsapp/badge\?v=([^"&]+)', html).group(1)


@pytest.fixture
def sandbox_owner(client, create_user, login):
    user = create_user(tenant_name="Sandbox Co")
    login(user)
    assert client.post("/settings/whatsapp/sandbox").status_code == 303
    return user


@pytest.fixture
def screen_url(app, sandbox_owner):
    return f"/sandbox/{channel_of(app, sandbox_owner.tenant_id).instance_name}/screen"


# The sandbox phone's screen


def test_the_phone_screen_answers_204_until_it_is_linked(app, sandbox_owner, screen_url, run_jobs):
    phone = app.test_client()  # the phone is not logged in
    first = phone.get(screen_url, headers=HX)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and 'id="phone-screen"' in html and "not linked" in html
    assert "<html" not in html and 'hx-trigger="every 2s"' in html
    version = version_of(html)
    assert phone.get(screen_url, query_string={"v": version}, headers=HX).status_code == 204
    phone.post(screen_url.replace("/screen", "/scan"))
    run_jobs()
    linked = phone.get(screen_url, query_string={"v": version}, headers=HX)
    assert linked.status_code == 200 and "Linked as" in linked.get_data(as_text=True)
    assert version_of(linked.get_data(as_text=True)) != version


def test_the_phone_screen_changes_with_each_receipt(app, sandbox_owner, screen_url, in_tenant, run_jobs):
    phone = app.test_client()
    phone.post(screen_url.replace("/screen", "/scan"))
    run_jobs()
    with in_tenant(sandbox_owner.tenant_id):
        message = add_message(make_contact(phone="+14155550142"), "out", "Your order shipped", status="sent",
                              channel_kind=ChannelKind.SANDBOX)
        message_id = message.id
    html = phone.get(screen_url).get_data(as_text=True)
    assert "Your order shipped" in html and "(sent)" in html
    version = version_of(html)
    assert phone.get(screen_url, query_string={"v": version}).status_code == 204
    with in_tenant(sandbox_owner.tenant_id) as session:
        from models import Message

        session.get(Message, message_id).status = "delivered"
    changed = phone.get(screen_url, query_string={"v": version})
    assert changed.status_code == 200 and "(delivered)" in changed.get_data(as_text=True)


def test_the_phone_screen_shows_only_sandbox_messages(app, sandbox_owner, screen_url, in_tenant, run_jobs):
    phone = app.test_client()
    phone.post(screen_url.replace("/screen", "/scan"))
    run_jobs()
    with in_tenant(sandbox_owner.tenant_id):
        contact = make_contact()
        add_message(contact, "out", "Sent through the sandbox", channel_kind=ChannelKind.SANDBOX)
        add_message(contact, "out", "Sent to a real customer", channel_kind=ChannelKind.CLOUD)
    html = phone.get(screen_url).get_data(as_text=True)
    assert "Sent through the sandbox" in html and "Sent to a real customer" not in html


def test_the_phone_screen_of_anything_but_a_sandbox_is_404(app, client, create_user, login, screen_url):
    phone = app.test_client()
    assert phone.get("/sandbox/sandbox-made-up/screen").status_code == 404
    # A QR-linked channel's instance name opens no phone page, logged in as its owner or not.
    other = create_user()
    with app.app_context():
        from models.tenancy import tenant_scope

        with tenant_scope(other.tenant_id):
            db.session.add(Channel(kind=ChannelKind.GATEWAY, state=ConnectionState.CONNECTED,
                                   instance_name="gateway-instance", webhook_token="t", webhook_token_digest="d",
                                   verify_token="v"))
            db.session.commit()
    other_client = login(other, test_client=app.test_client())
    for who in (phone, other_client):
        assert who.get("/sandbox/gateway-instance/screen").status_code == 404
        assert who.get("/sandbox/gateway-instance").status_code == 404


# The navigation badge


def test_the_badge_polls_every_page_and_answers_204_while_unchanged(client, create_user, login):
    login(create_user())
    page = client.get("/contacts/").get_data(as_text=True)
    badge = re.search(r'<a id="connection-badge"[^>]*>', page).group(0)
    assert 'hx-trigger="every 10s"' in badge and 'hx-swap="outerHTML"' in badge
    version = badge_version(badge)
    response = client.get("/settings/whatsapp/badge", query_string={"v": version}, headers=HX)
    assert response.status_code == 204 and response.get_data() == b""


def test_the_badge_polls_fast_while_linking_and_turns_connected(app, client, sandbox_owner, screen_url, run_jobs):
    page = client.get("/contacts/").get_data(as_text=True)
    assert "Waiting to link" in page and 'hx-trigger="every 2s"' in page
    version = badge_version(page)
    assert client.get("/settings/whatsapp/badge", query_string={"v": version}, headers=HX).status_code == 204
    app.test_client().post(screen_url.replace("/screen", "/scan"))
    run_jobs()
    response = client.get("/settings/whatsapp/badge", query_string={"v": version}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "WhatsApp: Connected" in html and "<html" not in html
    assert 'hx-trigger="every 10s"' in html and badge_version(html) != version


def test_a_lost_link_changes_the_badge(app, client, sandbox_owner, in_tenant):
    with in_tenant(sandbox_owner.tenant_id) as session:
        set_state(session.scalar(select(Channel)), ConnectionState.CONNECTED, phone_number="15550100999")
    version = badge_version(client.get("/contacts/").get_data(as_text=True))
    with in_tenant(sandbox_owner.tenant_id) as session:
        set_state(session.scalar(select(Channel)), ConnectionState.DISCONNECTED)
    response = client.get("/settings/whatsapp/badge", query_string={"v": version}, headers=HX)
    assert response.status_code == 200 and "WhatsApp: Disconnected" in response.get_data(as_text=True)


def test_the_badge_shows_only_the_logged_in_tenants_channel(app, client, sandbox_owner, create_user, login):
    owner_version = badge_version(client.get("/contacts/").get_data(as_text=True))
    stranger = login(create_user(), test_client=app.test_client())
    response = stranger.get("/settings/whatsapp/badge", query_string={"v": owner_version}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "WhatsApp: Not linked" in html and "Waiting" not in html
    assert stranger.get("/settings/whatsapp/badge", query_string={"v": badge_version(html)}).status_code == 204


def test_a_badge_poll_touches_neither_flashes_nor_the_session(app, client, create_user, login):
    anonymous = app.test_client()
    refused = anonymous.get("/settings/whatsapp/badge", headers=HX)
    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers  # no "please log in" flashed
    login(create_user())
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Settings saved.")]
    polled = client.get("/settings/whatsapp/badge", query_string={"v": "stale"}, headers=HX)
    assert polled.status_code == 200 and "Set-Cookie" not in polled.headers
    unchanged = client.get("/settings/whatsapp/badge", query_string={"v": badge_version(polled.get_data(as_text=True))})
    assert unchanged.status_code == 204 and "Set-Cookie" not in unchanged.headers
    assert "Settings saved." in client.get("/contacts/").get_data(as_text=True)  # the flash waited for a page


def test_use_the_sandbox_is_off_while_connected(app, client, sandbox_owner, in_tenant):
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="secondary">Use the sandbox</button>', page)
    with in_tenant(sandbox_owner.tenant_id) as session:
        set_state(session.scalar(select(Channel)), ConnectionState.CONNECTED, phone_number="15550100999")
    page = client.get("/settings/whatsapp").get_data(as_text=True)
    assert re.search(r'<button type="button" class="secondary" disabled[^>]*>Use the sandbox</button>', page)
    assert "The sandbox is linked already." in page
    refused = client.post("/settings/whatsapp/sandbox")
    assert refused.status_code == 422 and "linked already" in refused.get_data(as_text=True)
    assert channel_of(app, sandbox_owner.tenant_id).state == "connected"  # pressing it did not unlink
