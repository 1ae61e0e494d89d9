"""Tags page: counts, create, rename, delete, validation."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import Tag
from models.tenancy import tenant_scope
from tests.factories import link, make_contact, make_tag


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def test_list_shows_contact_counts(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        tag = make_tag(name="customer")
        for _ in range(3):
            link(make_contact(), tag)
        make_tag(name="unused")
        tag_id = tag.id
    page = client.get("/tags/").get_data(as_text=True)
    assert "customer" in page and "unused" in page
    assert f'/contacts/?tag={tag_id}">3</a>' in page


def test_create_and_reject_duplicates(app, client, owner):
    assert client.post("/tags/", data={"name": "  VIP  ", "color": "#AA0000"}).status_code == 303
    duplicate = client.post("/tags/", data={"name": "vip", "color": "#00aa00"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    with app.app_context(), tenant_scope(owner.tenant_id):
        tags = db.session.scalars(select(Tag)).all()
        assert [(t.name, t.color) for t in tags] == [("VIP", "#aa0000")]


@pytest.mark.parametrize("data, message", [
    ({"name": "", "color": "#000000"}, "Enter a tag name"),
    ({"name": "t" * 51, "color": "#000000"}, "under 50 characters"),
    ({"name": "ok", "color": "red"}, "Pick a colour"),
])
def test_bad_tag_input(client, owner, data, message):
    response = client.post("/tags/", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_rename_and_delete(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        tag = make_tag(name="old")
        contact = make_contact()
        link(contact, tag)
        tag_id, contact_id = tag.id, contact.id
    assert client.post(f"/tags/{tag_id}/edit", data={"name": "new", "color": "#123456"}).status_code == 303
    assert "new" in client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert client.post(f"/tags/{tag_id}/delete").status_code == 303
    with app.app_context(), tenant_scope(owner.tenant_id):
        assert db.session.scalars(select(Tag)).all() == []
    assert client.get(f"/contacts/{contact_id}").status_code == 200  # the contact stays
