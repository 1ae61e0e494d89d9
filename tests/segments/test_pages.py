"""Segments pages: list with counts, create and edit with the live preview, delete, and other tenants' 404s."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Segment, Tag
from models.tenancy import tenant_scope
from services.segments import save_segment
from tests.factories import link, make_contact, make_tag
from tests.segments.helpers import flt

HX = {"HX-Request": "true"}


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


@pytest.fixture
def shop(owner, in_tenant):
    """Twelve contacts: eleven VIPs (the first opted out), one lead."""
    with in_tenant(owner.tenant_id):
        vip, lead = make_tag(name="vip"), make_tag(name="lead")
        for n in range(11):
            link(make_contact(name=f"Vip {n:02d}", opted_out=n == 0), vip)
        link(make_contact(name="Lena Lead", email="lena@shop.test"), lead)
        return {"vip": vip.id, "lead": lead.id}


def saved(app, tenant_id) -> list[tuple[str, dict]]:
    with app.app_context(), tenant_scope(tenant_id):
        return [(s.name, s.definition) for s in db.session.scalars(select(Segment).order_by(Segment.id))]


def list_rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<a href="/segments/\d+/edit">([^<]+)</a></td>\s*'
                      r'<td data-count><a [^>]+>(\d+)</a></td>\s*<td>(\d+)</td>', html)


def test_list_shows_live_counts(client, owner, shop, in_tenant):
    with in_tenant(owner.tenant_id):
        save_segment("VIPs", flt({"op": "tags_any", "tags": [shop["vip"]]}))
        save_segment("Leads", flt({"op": "tags_any", "tags": [shop["lead"]]}))
    assert list_rows(client.get("/segments/").get_data(as_text=True)) == [("Leads", "1", "1"), ("VIPs", "11", "10")]
    with in_tenant(owner.tenant_id):
        link(make_contact(name="New lead"), db.session.scalar(select(Tag).where(Tag.id == shop["lead"])))
    # Counts follow the contacts, not the moment the segment was saved.
    assert list_rows(client.get("/segments/").get_data(as_text=True)) == [("Leads", "2", "2"), ("VIPs", "11", "10")]


def test_empty_list_invites_the_first_segment(client, owner):
    page = client.get("/segments/").get_data(as_text=True)
    assert "No segments yet" in page and 'href="/segments/new"' in page


def test_live_preview_partial_counts_and_lists_the_first_ten(client, owner, shop):
    data = {"conditions-0-op": "tags_any", "conditions-0-tags": [str(shop["vip"])]}
    response = client.post("/segments/preview", data=data, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.vary
    assert "<html" not in html and html.lstrip().startswith('<section id="segment-preview"')
    assert '<strong data-preview-count>11</strong> contacts match' in html
    assert "1 of them opted out and are never in a broadcast" in html
    # Newest first, ten of them: the first-made VIP (the opted-out one) is the eleventh.
    assert re.findall(r">(Vip \d\d)</a>", html) == [f"Vip {n:02d}" for n in range(10, 0, -1)]
    assert "The newest 10 are shown." in html

    data["conditions-3-op"] = "email_contains"  # rows keep their own indices, as the browser numbers them
    data["conditions-3-text"] = "lena"
    assert "<strong data-preview-count>0</strong>" in client.post("/segments/preview", data=data, headers=HX).text
    # A row still without a condition is ignored: the preview follows the rows that say something.
    blank = client.post("/segments/preview", data={"conditions-0-op": ""}, headers=HX).text
    assert "<strong data-preview-count>12</strong> contacts match" in blank


def test_live_preview_of_a_condition_not_filled_in_yet_asks_for_it(client, owner, shop):
    # The page previews 150 ms after a condition is picked, before its tag is: not an error, a hint, and the
    # count of the conditions that are complete.
    data = {"conditions-0-op": "name_contains", "conditions-0-text": "vip",
            "conditions-1-op": "tags_any", "conditions-2-op": "custom_equals", "conditions-2-key": "city"}
    response = client.post("/segments/preview", data=data, headers=HX)
    assert response.status_code == 200
    assert "Condition 2: choose a tag to include it." in response.text
    assert "Condition 3: type the text to include it." in response.text
    assert 'role="alert"' not in response.text
    assert "<strong data-preview-count>11</strong>" in response.text  # name contains "vip" alone
    # Saving it is still refused, with the message on the field.
    saving = client.post("/segments/new", data={"name": "Half done", **data})
    assert saving.status_code == 422 and "Choose at least one of your tags." in saving.text


def test_live_preview_marks_opted_out_contacts(client, owner, shop):
    html = client.post("/segments/preview", data={"conditions-0-op": "name_contains", "conditions-0-text": "vip 00"},
                       headers=HX).text
    assert re.search(r">Vip 00</a>\s*<span class=\"pill pill-warn\">opted out</span>", html)


def test_live_preview_explains_a_bad_filter(client, owner, shop):
    data = {"conditions-0-op": "name_contains", "conditions-0-text": "vip",
            "conditions-1-op": "inbound_within", "conditions-1-days": "0",
            "conditions-2-op": "created_after", "conditions-2-date": "soon"}
    response = client.post("/segments/preview", data=data, headers=HX)
    assert response.status_code == 422
    assert "Condition 2: Enter a number of days from 1 to 365." in response.text
    assert "Condition 3: Enter a date like 2026-01-31." in response.text
    assert "data-preview-count" not in response.text


def test_create_saves_the_filter_and_shows_it_in_the_list(app, client, owner, shop):
    data = {"name": " Lisbon VIPs ", "conditions-0-op": "tags_any", "conditions-0-tags": [str(shop["vip"])],
            "conditions-1-op": "custom_equals", "conditions-1-key": "city", "conditions-1-text": "Lisbon",
            "conditions-1-tags": [str(shop["lead"])],  # an input this operator does not read is ignored
            "conditions-2-op": ""}
    response = client.post("/segments/new", data=data)
    assert response.status_code == 303 and response.headers["Location"] == "/segments/"
    expected = flt({"op": "tags_any", "tags": [shop["vip"]]}, {"op": "custom_equals", "key": "city", "text": "Lisbon"})
    assert saved(app, owner.tenant_id) == [("Lisbon VIPs", expected)]
    assert list_rows(client.get("/segments/").get_data(as_text=True)) == [("Lisbon VIPs", "0", "0")]


def test_a_refused_segment_keeps_what_was_typed(app, client, owner, shop, in_tenant):
    data = {"name": "", "conditions-0-op": "tags_all", "conditions-5-op": "phone_contains",
            "conditions-5-text": "abc"}
    for headers in ({}, HX):
        response = client.post("/segments/new", data=data, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Enter a name for the segment." in html
        assert 'Choose at least one of your tags.</small>' in html  # on the row's own field
        assert "Condition 2: Enter some digits of the phone number." in html  # and in the preview
        assert 'name="conditions-1-text" type="text" value="abc"' in html  # rows are renumbered 0, 1, …
    assert saved(app, owner.tenant_id) == []
    with in_tenant(owner.tenant_id):
        save_segment("Taken", flt())
    clash = client.post("/segments/new", data={"name": "TAKEN"})
    assert clash.status_code == 422 and "A segment called “Taken” already exists." in clash.text


def test_rows_are_added_and_removed_without_javascript(app, client, owner, shop):
    base = {"name": "x", "conditions-0-op": "name_contains", "conditions-0-text": "vip"}
    added = client.post("/segments/new", data={**base, "add": "1"})
    assert added.status_code == 200
    assert 'name="conditions-1-op"' in added.text and 'value="vip"' in added.text
    removed = client.post("/segments/new", data={**base, "conditions-1-op": "custom_set", "conditions-1-key": "k",
                                                 "remove": "0"})
    assert 'name="conditions-0-op"' not in removed.text and 'name="conditions-1-key"' in removed.text
    assert '<strong data-preview-count>0</strong>' in removed.text  # the preview follows the remaining row
    assert saved(app, owner.tenant_id) == []  # neither button saves


def test_edit_shows_the_saved_filter_and_saves_changes(app, client, owner, shop, in_tenant):
    with in_tenant(owner.tenant_id):
        segment_id = save_segment("VIPs", flt({"op": "tags_any", "tags": [shop["vip"]]})).id
    page = client.get(f"/segments/{segment_id}/edit").text
    assert 'value="VIPs"' in page
    assert re.search(rf'<option selected value="{shop["vip"]}">vip</option>', page)
    assert '<option data-inputs="tags" selected value="tags_any">' in page
    assert "<strong data-preview-count>11</strong>" in page
    response = client.post(f"/segments/{segment_id}/edit", data={
        "name": "Leads", "conditions-0-op": "tags_none", "conditions-0-tags": [str(shop["vip"])]})
    assert response.status_code == 303
    assert saved(app, owner.tenant_id) == [("Leads", flt({"op": "tags_none", "tags": [shop["vip"]]}))]


def test_delete_asks_first_and_removes_only_the_segment(app, client, owner, shop, in_tenant):
    with in_tenant(owner.tenant_id):
        segment_id = save_segment("VIPs", flt({"op": "tags_any", "tags": [shop["vip"]]})).id
    page = client.get("/segments/").text
    assert f'action="/segments/{segment_id}/delete" class="inline" data-confirm="Delete the segment VIPs?' in page
    response = client.post(f"/segments/{segment_id}/delete")
    assert response.status_code == 303 and saved(app, owner.tenant_id) == []
    assert "<strong data-preview-count>12</strong>" in client.get("/segments/new").text  # contacts untouched


def test_another_tenants_segment_and_tags_are_out_of_reach(app, client, owner, shop, create_user, in_tenant):
    other = create_user()
    with in_tenant(other.tenant_id):
        theirs = make_tag(name="their-vip")
        link(make_contact(name="Their customer"), theirs)
        segment_id = save_segment("Theirs", flt({"op": "tags_any", "tags": [theirs.id]})).id
        theirs_id = theirs.id
    for method, url in (("GET", f"/segments/{segment_id}/edit"), ("POST", f"/segments/{segment_id}/edit"),
                        ("POST", f"/segments/{segment_id}/delete")):
        assert client.open(url, method=method, data={"name": "hijack"}).status_code == 404, url
    refused = client.post("/segments/preview", data={"conditions-0-op": "tags_any",
                                                     "conditions-0-tags": [str(theirs_id)]}, headers=HX)
    assert refused.status_code == 422 and "Condition 1: One of the chosen tags does not exist." in refused.text
    assert "Their customer" not in client.post("/segments/preview", data={}, headers=HX).text
    assert client.post("/segments/new", data={"name": "Sneaky", "conditions-0-op": "tags_any",
                                              "conditions-0-tags": [str(theirs_id)]}).status_code == 422
    assert saved(app, owner.tenant_id) == []
    assert saved(app, other.tenant_id) == [("Theirs", flt({"op": "tags_any", "tags": [theirs_id]}))]
    assert "Theirs" not in client.get("/segments/").text


def test_the_page_loads_its_own_script_and_styles_only(client, owner):
    page = client.get("/segments/new").text
    assert '<script src="/static/js/segments.js" defer></script>' in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def contact_names(html: str) -> list[str]:
    return re.findall(r'<a href="/contacts/\d+">([^<]+)</a>', html)


def test_the_contacts_list_filters_by_a_segment(client, owner, shop, in_tenant):
    with in_tenant(owner.tenant_id):
        leads = save_segment("Leads", flt({"op": "tags_any", "tags": [shop["lead"]]})).id
    assert f'href="/contacts/?segment={leads}"' in client.get("/segments/").text
    page = client.get(f"/contacts/?segment={leads}")
    assert page.status_code == 200 and contact_names(page.text) == ["Lena Lead"]
    # Combined with the search box: one query, both conditions.
    assert contact_names(client.get(f"/contacts/?segment={leads}&q=vip", headers=HX).text) == []
    assert len(contact_names(client.get("/contacts/").text)) == 12


def test_another_tenants_segment_filters_nothing_it_is_not_found(client, owner, shop, create_user, in_tenant):
    other = create_user()
    with in_tenant(other.tenant_id):
        theirs = save_segment("Theirs", flt({"op": "name_contains", "text": "Vip"})).id
    assert client.get(f"/contacts/?segment={theirs}").status_code == 404
