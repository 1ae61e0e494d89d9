"""Contacts: create, validate, search, paginate, edit, delete, tag inline, start a conversation."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Contact, Tenant
from models.tenancy import tenant_scope
from tests.factories import link, make_contact, make_tag


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def contact_count(app, tenant_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(Contact.id)))


def test_create_normalises_phone_with_tenant_region(app, client, owner):
    with app.app_context():
        db.session.get(Tenant, owner.tenant_id).default_region = "GB"
        db.session.commit()
    response = client.post("/contacts/new", data={"name": "Emma", "phone": "07911 123456", "email": "EMMA@Example.com",
                                                 "custom_fields": "plan: gold\ncity: Leeds", "notes": "VIP"})
    assert response.status_code == 303
    with app.app_context(), tenant_scope(owner.tenant_id):
        contact = db.session.scalar(select(Contact))
        assert contact.phone == "+447911123456"
        assert contact.email == "emma@example.com"
        assert contact.custom_fields == {"plan": "gold", "city": "Leeds"}
        assert response.headers["Location"].endswith(f"/contacts/{contact.id}")


@pytest.mark.parametrize("data, message", [
    ({"name": "", "phone": "+14155550100"}, "Enter a name."),
    ({"name": "A", "phone": "not a phone"}, "is not a phone number"),
    ({"name": "A", "phone": "+1 415 555"}, "not a valid phone number"),
    ({"name": "x" * 121, "phone": "+14155550100"}, "under 120 characters"),
    ({"name": "A", "phone": "+14155550100", "email": "nope"}, "valid email"),
    ({"name": "A", "phone": "+14155550100", "notes": "n" * 5001}, "under 5000 characters"),
    ({"name": "A", "phone": "+14155550100", "custom_fields": "no separator"}, "Line 1"),
    ({"name": "A", "phone": "+14155550100", "tags": "999999"}, "tags does not exist"),
])
def test_bad_input_rerenders_with_message_and_saves_nothing(app, client, owner, data, message):
    response = client.post("/contacts/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    if data.get("name") and len(data["name"]) < 20:
        assert f'value="{data["name"]}"' in page  # what was typed is still there
    assert contact_count(app, owner.tenant_id) == 0


def test_duplicate_phone_gets_friendly_error(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        make_contact(name="Ana", phone="+14155550100")
    response = client.post("/contacts/new", data={"name": "Other", "phone": "(415) 555-0100"})
    assert response.status_code == 422
    assert "+14155550100 already belongs to Ana" in response.get_data(as_text=True)
    assert contact_count(app, owner.tenant_id) == 1


def test_same_phone_in_two_tenants_is_fine(app, client, owner, create_user, in_tenant):
    other = create_user()
    with in_tenant(other.tenant_id):
        make_contact(phone="+14155550100")
    assert client.post("/contacts/new", data={"name": "Mine", "phone": "+14155550100"}).status_code == 303


def test_markup_is_escaped_everywhere(app, client, owner):
    evil = "<script>alert(1)</script>"
    client.post("/contacts/new", data={"name": evil, "phone": "+14155550100", "notes": evil,
                                       "custom_fields": f"x: {evil}"})
    with app.app_context(), tenant_scope(owner.tenant_id):
        contact_id = db.session.scalar(select(Contact.id))
    for url in ("/contacts/", f"/contacts/{contact_id}", f"/contacts/{contact_id}/edit"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)" in page


def test_search_returns_only_rows_for_htmx(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        make_contact(name="Alice Smith", phone="+14155550101", email="alice@shop.com")
        make_contact(name="Bob Jones", phone="+5511987654321")
    headers = {"HX-Request": "true", "HX-Target": "contact-results"}
    by_name = client.get("/contacts/?q=alice", headers=headers).get_data(as_text=True)
    assert by_name.startswith('<div id="contact-results">') and "<html" not in by_name
    assert "Alice Smith" in by_name and "Bob Jones" not in by_name
    by_phone = client.get("/contacts/?q=98765", headers=headers).get_data(as_text=True)
    assert "Bob Jones" in by_phone and "Alice Smith" not in by_phone
    by_email = client.get("/contacts/?q=SHOP.COM", headers=headers).get_data(as_text=True)
    assert "Alice Smith" in by_email
    full = client.get("/contacts/?q=alice").get_data(as_text=True)
    assert "<html" in full and 'value="alice"' in full


def test_filter_by_tag(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        tagged, _other = make_contact(name="Tagged One"), make_contact(name="Plain One")
        tag = make_tag(name="vip")
        link(tagged, tag)
        tag_id = tag.id
    page = client.get(f"/contacts/?tag={tag_id}").get_data(as_text=True)
    assert "Tagged One" in page and "Plain One" not in page


def test_pagination(make_app, create_user, login, in_tenant):
    app = make_app(CONTACTS_PER_PAGE=2)
    user = create_user()
    client = login(user, test_client=app.test_client())
    with in_tenant(user.tenant_id):
        for n in range(5):
            make_contact(name=f"Person {n}")
    first = client.get("/contacts/").get_data(as_text=True)
    assert "5 contacts" in first and "Page 1 of 3" in first
    last = client.get("/contacts/?page=3").get_data(as_text=True)
    assert "Person 0" in last and "Person 4" not in last


def test_edit_keeps_values_on_error_and_saves_on_success(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact(name="Before", phone="+14155550100").id
    bad = client.post(f"/contacts/{contact_id}/edit", data={"name": "After", "phone": "garbage"})
    assert bad.status_code == 422 and 'value="After"' in bad.get_data(as_text=True)
    with app.app_context(), tenant_scope(owner.tenant_id):
        assert db.session.get(Contact, contact_id).name == "Before"
    good = client.post(f"/contacts/{contact_id}/edit", data={"name": "After", "phone": "+14155550100"})
    assert good.status_code == 303
    with app.app_context(), tenant_scope(owner.tenant_id):
        assert db.session.get(Contact, contact_id).name == "After"


def test_delete_answers_303(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        link(contact, make_tag())
        contact_id = contact.id
    response = client.post(f"/contacts/{contact_id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/contacts/")
    assert contact_count(app, owner.tenant_id) == 0
    assert client.get(f"/contacts/{contact_id}").status_code == 404


def test_inline_tagging_with_htmx(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact_id, tag_id = make_contact().id, make_tag(name="lead").id
    headers = {"HX-Request": "true"}
    added = client.post(f"/contacts/{contact_id}/tags", data={"tag_id": tag_id}, headers=headers)
    assert added.status_code == 200
    html = added.get_data(as_text=True)
    assert html.startswith('<div id="contact-tags">') and "lead" in html
    unknown = client.post(f"/contacts/{contact_id}/tags", data={"tag_id": "424242"}, headers=headers)
    assert unknown.status_code == 422 and "Choose one of your tags" in unknown.get_data(as_text=True)
    removed = client.post(f"/contacts/{contact_id}/tags/{tag_id}/remove", headers=headers)
    assert removed.status_code == 200 and "No tags." in removed.get_data(as_text=True)


def test_tagging_with_another_tenants_tag_is_refused(client, owner, create_user, in_tenant):
    other = create_user()
    with in_tenant(other.tenant_id):
        foreign_tag = make_tag(name="theirs").id
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    response = client.post(f"/contacts/{contact_id}/tags", data={"tag_id": foreign_tag}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "theirs" not in response.get_data(as_text=True)


def test_percent_and_underscore_in_a_search_are_literal(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        make_contact(name="100% Cotton", email="sales@cotton.example")
        make_contact(name="1000 Cotton Bales")
        make_contact(name="Plain Shop", email="first_last@shop.example")
        make_contact(name="Other Shop", email="firstxlast@shop.example")
    headers = {"HX-Request": "true", "HX-Target": "contact-results"}
    percent = client.get("/contacts/?q=100%25", headers=headers).get_data(as_text=True)
    assert "100% Cotton" in percent and "1000 Cotton Bales" not in percent
    underscore = client.get("/contacts/?q=FIRST_", headers=headers).get_data(as_text=True)
    assert "Plain Shop" in underscore and "Other Shop" not in underscore
    # Case still does not matter, and a lone wildcard character finds only what contains it.
    assert "100% Cotton" in client.get("/contacts/?q=%25+cotton", headers=headers).get_data(as_text=True)
    lone = client.get("/contacts/?q=_", headers=headers).get_data(as_text=True)
    assert "Plain Shop" in lone and "1 contact matching" in lone


def test_message_buttons_open_the_conversation(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact(name="Ana Souza").id
    listed = client.get("/contacts/").get_data(as_text=True)
    assert f'href="/inbox/{contact_id}" role="button"' in listed and 'aria-label="Message Ana Souza"' in listed
    detail = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert f'<a href="/inbox/{contact_id}" role="button">Message</a>' in detail


def test_contact_pages_show_international_phones_and_local_times(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Ben", phone="+14155550123", opted_out=True)
        contact.opted_out_at = contact.created_at
        contact_id = contact.id
    listed = client.get("/contacts/").get_data(as_text=True)
    assert '<td class="tel">+1 415-555-0123</td>' in listed
    detail = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "+1 415-555-0123" in detail and "+14155550123" not in detail
    # Added, updated and opted-out times are <time> elements static/js/app.js shows in the reader's zone.
    assert detail.count('data-local="datetime"') == 3
    assert re.search(r'<dt>Opted out</dt><dd><time datetime="[^"]+\+00:00" data-local="datetime"', detail)
    assert not re.search(r"\d\d:\d\d UTC</dd>", detail)  # no bare UTC text outside a <time>


def test_edit_form_shows_the_phone_as_pages_do_and_saves_it_unchanged(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact(name="Ben", phone="+14155550123").id
    form = client.get(f"/contacts/{contact_id}/edit").get_data(as_text=True)
    assert 'value="+1 415-555-0123"' in form
    saved = client.post(f"/contacts/{contact_id}/edit", data={"name": "Ben", "phone": "+1 415-555-0123"})
    assert saved.status_code == 303
    with app.app_context(), tenant_scope(owner.tenant_id):
        assert db.session.get(Contact, contact_id).phone == "+14155550123"


def test_digits_inside_an_email_do_not_search_phones(app, in_tenant, create_user):
    from extensions import db
    from services.contacts import search_contacts
    from tests.factories import make_contact

    user = create_user()
    with in_tenant(user.tenant_id):
        make_contact(name="Sven", phone="+14155550018", email="sven.50018@example.com")
        make_contact(name="Other", phone="+14150018000", email="other@example.com")  # holds 50018
        found = [c.name for c in db.session.scalars(search_contacts("sven.50018"))]
        by_phone = [c.name for c in db.session.scalars(search_contacts("555-0018"))]
    assert found == ["Sven"]
    assert by_phone == ["Sven"]


def test_the_list_counts_only_up_to_a_cap_and_still_pages_past_it(make_app, create_user, login, in_tenant,
                                                                    monkeypatch):
    import services.paging

    monkeypatch.setattr(services.paging, "COUNT_CAP", 3)
    app = make_app(CONTACTS_PER_PAGE=2)
    user = create_user()
    client = login(user, test_client=app.test_client())
    with in_tenant(user.tenant_id):
        for n in range(5):
            make_contact(name=f"Person {n}")
    first = client.get("/contacts/").get_data(as_text=True)
    assert "More than 3 contacts" in first and "Page 1<" in first and "Next →" in first
    last = client.get("/contacts/?page=3").get_data(as_text=True)
    assert "Person 0" in last and "Next →" not in last and "← Previous" in last
