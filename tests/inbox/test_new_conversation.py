"""Starting a conversation: pick a contact or add one, land in the chat; a chat without messages; the shared header."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from extensions import db
from models import Contact, QuickReply, Tenant
from models.tenancy import tenant_scope, unscoped
from tests.factories import make_contact
from tests.inbox.conftest import HX, add_message, hx


def contacts_of(app, tenant_id):
    with app.app_context(), tenant_scope(tenant_id):
        return [(c.name, c.phone) for c in db.session.scalars(select(Contact).order_by(Contact.id))]


def picks(html: str) -> list[str]:
    section = re.search(r'<div id="contact-picks".*?</div>', html, re.S).group(0)
    return re.findall(r'class="conversation-name">([^<]+)<', section)


def test_the_inbox_offers_a_new_conversation(client, owner):
    page = client.get("/inbox/").get_data(as_text=True)
    assert 'href="/inbox/new"' in page and ">New conversation</a>" in page


def test_pick_a_contact_with_live_search(client, owner, in_tenant, create_user):
    with in_tenant(owner.tenant_id):
        anna = make_contact(name="Anna Apple", phone="+14155550111", email="anna@fruit.test")
        make_contact(name="Bert Banana", phone="+5511987654321")
        make_contact(name="100% Cotton", phone="+14155550112")
        anna_id = anna.id
    other = create_user(tenant_name="Other")
    with in_tenant(other.tenant_id):
        make_contact(name="Anna Elsewhere")
    page = client.get("/inbox/new").get_data(as_text=True)
    assert picks(page) == ["100% Cotton", "Anna Apple", "Bert Banana"]
    assert f'href="/inbox/{anna_id}"' in page
    results = client.get("/inbox/new?q=ann", headers=hx("contact-picks"))
    html = results.get_data(as_text=True)
    assert results.status_code == 200 and html.lstrip().startswith('<div id="contact-picks"') and "<html" not in html
    assert picks(html) == ["Anna Apple"]
    assert picks(client.get("/inbox/new?q=fruit.test", headers=HX).get_data(as_text=True)) == ["Anna Apple"]
    assert picks(client.get("/inbox/new?q=98765", headers=HX).get_data(as_text=True)) == ["Bert Banana"]
    assert picks(client.get("/inbox/new?q=%", headers=HX).get_data(as_text=True)) == ["100% Cotton"]
    none = client.get("/inbox/new?q=zzz", headers=HX).get_data(as_text=True)
    assert picks(none) == [] and "No contact matches “zzz”" in none


def test_many_contacts_show_a_count_and_a_hint(make_app, create_user, login, in_tenant):
    app = make_app()
    user = create_user()
    client = login(user, test_client=app.test_client())
    with in_tenant(user.tenant_id):
        for n in range(12):
            make_contact(name=f"Person {n:02d}")
    page = client.get("/inbox/new").get_data(as_text=True)
    assert len(picks(page)) == 10 and "Showing 10 of 12 contacts" in page


def test_add_a_contact_and_land_in_the_chat(app, client, owner, in_tenant):
    with app.app_context(), unscoped():
        db.session.get(Tenant, owner.tenant_id).default_region = "GB"
        db.session.commit()
    response = client.post("/inbox/new", data={"name": " Gwen Green ", "phone": "020 7946 0018"})
    assert response.status_code == 303
    assert contacts_of(app, owner.tenant_id) == [("Gwen Green", "+442079460018")]
    assert re.fullmatch(r".*/inbox/\d+", response.headers["Location"])
    chat = client.get(response.headers["Location"])
    html = chat.get_data(as_text=True)
    assert chat.status_code == 200 and "Gwen Green" in html and "No messages yet." in html
    assert 'id="reply-body"' in html  # no channel rules a window: the box is ready for a first message
    with_htmx = client.post("/inbox/new", data={"name": "Hal", "phone": "+14155550199"}, headers=HX)
    assert with_htmx.status_code == 204 and re.fullmatch(r"/inbox/\d+", with_htmx.headers["HX-Redirect"])


def test_refused_input_rerenders_the_form_with_the_reasons(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        make_contact(name="Known Person", phone="+14155550123")
    empty = client.post("/inbox/new", data={"name": "", "phone": "nonsense"})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Enter a name." in html and 'aria-invalid="true"' in html
    assert "<html" in html and 'id="contact-picks"' in html
    duplicate = client.post("/inbox/new", data={"name": "Again", "phone": "+1 (415) 555-0123"}, headers=HX)
    html = duplicate.get_data(as_text=True)
    assert duplicate.status_code == 422 and "+14155550123 already belongs to Known Person." in html
    assert html.lstrip().startswith('<form id="new-contact-form"') and 'value="Again"' in html
    assert contacts_of(app, owner.tenant_id) == [("Known Person", "+14155550123")]


def test_a_contact_without_messages_opens_on_the_template_picker_outside_the_window(client, connected_cloud,
                                                                                      in_tenant):
    with in_tenant(connected_cloud.tenant_id):
        contact_id = make_contact(name="Nora New").id
    page = client.get(f"/inbox/{contact_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "No messages yet." in html
    assert "The 24-hour window is closed." in html and "Nora New has not written to you yet" in html
    assert 'id="reply-body"' not in html


def head_of(html: str) -> str:
    head = re.search(r'<div class="page-head inbox-page-head">.*?</div>\s*</div>', html, re.S).group(0)
    # The inbox page names itself in an h1; the others keep the same text, as a link, beside their own heading.
    head = re.sub(r"<h1 class=\"inbox-title\">Inbox</h1>|<p class=\"inbox-title\"><a href=\"/inbox/\">Inbox</a></p>",
                  "TITLE", head)
    return re.sub(r"\s+", " ", head)


def test_every_inbox_page_has_the_same_header(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Header Check")
        add_message(contact)
        contact_id = contact.id
    heads = {url: head_of(client.get(url).get_data(as_text=True)) for url in ("/inbox/", f"/inbox/{contact_id}",
                                                                               "/inbox/new")}
    assert len(set(heads.values())) == 1, heads
    assert "TITLE" in heads["/inbox/"] and "Quick replies" in heads["/inbox/"]


def reply_box_quick_replies(html: str) -> tuple[list[str], list[dict]]:
    options = re.findall(r'<option value="([^"]+)">/', html)
    data = re.search(r'<script type="application/json" id="quick-replies-data">(.*?)</script>', html, re.S)
    return options, json.loads(data.group(1)) if data else []


def test_quick_replies_stay_in_the_box_after_a_send_and_a_refusal(client, sandbox_owner, in_tenant):
    with in_tenant(sandbox_owner.tenant_id) as session:
        session.add_all([QuickReply(shortcut="thanks", body="Thank you!"), QuickReply(shortcut="hours", body="9-5")])
        contact = make_contact(name="Quincy")
        add_message(contact, "in", "hi")
        contact_id = contact.id
    expected = (["hours", "thanks"],
                [{"shortcut": "hours", "body": "9-5"}, {"shortcut": "thanks", "body": "Thank you!"}])
    assert reply_box_quick_replies(client.get(f"/inbox/{contact_id}").get_data(as_text=True)) == expected
    sent = client.post(f"/inbox/{contact_id}/messages", data={"body": "Hello"}, headers=hx("reply-box"))
    assert sent.status_code == 200 and reply_box_quick_replies(sent.get_data(as_text=True)) == expected
    refused = client.post(f"/inbox/{contact_id}/messages", data={"body": "  "}, headers=hx("reply-box"))
    assert refused.status_code == 422 and reply_box_quick_replies(refused.get_data(as_text=True)) == expected
