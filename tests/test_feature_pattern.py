"""The feature pattern every area follows: its blueprint in blueprint.py, 422 for a refused form, Vary on HX-Request."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from flask import Blueprint

import blueprints
from blueprints.htmx import REFUSED
from tests.conftest import TEST_PASSWORD
from tests.factories import make_contact
from tests.inbox.conftest import add_message

PACKAGES = sorted(path.parent.name for path in Path(blueprints.__file__).parent.glob("*/__init__.py"))
HX = {"HX-Request": "true"}


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def test_the_areas_are_packages():
    assert {"auth", "contacts", "inbox", "main", "settings", "tags"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_blueprint_package_holds_its_bp_in_blueprint_py(name):
    folder = Path(blueprints.__file__).parent / name
    assert (folder / "blueprint.py").is_file()
    bp = importlib.import_module(f"blueprints.{name}.blueprint").bp
    assert isinstance(bp, Blueprint)
    assert importlib.import_module(f"blueprints.{name}").bp is bp
    # Route modules take bp from blueprint.py; none makes a blueprint of its own.
    makers = [path.name for path in folder.glob("*.py")
              if path.name != "blueprint.py" and re.search(r"\bBlueprint\(", path.read_text())]
    assert makers == []


@pytest.mark.parametrize("url, target", [("/contacts/", "contact-results"), ("/inbox/", "conversation-list")])
def test_a_page_and_its_partial_vary_by_hx_request(client, owner, url, target):
    page = client.get(url)
    partial = client.get(url, headers={**HX, "HX-Target": target})
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in partial.get_data(as_text=True) and f'id="{target}"' in partial.get_data(as_text=True)
    for response in (page, partial):
        assert response.status_code == 200
        assert "HX-Request" in response.vary


def test_error_pages_vary_by_hx_request(client, owner):
    page, partial = client.get("/no-such-page"), client.get("/no-such-page", headers=HX)
    assert "<html" in page.get_data(as_text=True) and "<html" not in partial.get_data(as_text=True)
    assert all(r.status_code == 404 and "HX-Request" in r.vary for r in (page, partial))


SETTINGS = {"name": "Shop", "default_region": "US", "opt_out_keywords": "STOP", "opt_in_keywords": "START",
            "retention_days": 30, "retention_max_messages": 500}


@pytest.mark.parametrize("url, data, message", [
    ("/contacts/new", {"name": "", "phone": "+14155550100"}, "Enter a name."),
    ("/tags/", {"name": "", "color": "#000000"}, "Enter a tag name"),
    ("/inbox/quick-replies", {"shortcut": "", "body": "x"}, "Enter a shortcut."),
    ("/settings/", {**SETTINGS, "opt_in_keywords": "stop"}, "in both lists: STOP"),
    ("/settings/password", {"current_password": "wrong-password-1", "new_password": "another-horse-42",
                            "confirm": "another-horse-42"}, "The current password is incorrect."),
])
def test_a_refused_form_answers_422_in_every_area(client, owner, url, data, message):
    for headers in ({}, HX):
        response = client.post(url, data=data, headers=headers)
        assert response.status_code == REFUSED == 422
        assert message in response.get_data(as_text=True)
        assert "HX-Request" in response.vary


def test_refused_contact_edits_and_tagging_answer_422(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    assert client.post(f"/contacts/{contact_id}/edit", data={"name": "x", "phone": "no"}).status_code == REFUSED
    assert client.post(f"/contacts/{contact_id}/tags", data={"tag_id": "0"}, headers=HX).status_code == REFUSED


def test_refused_inbox_sends_answer_422(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        sent = add_message(contact, "out", "already sent", status="sent")
        contact_id, sent_id = contact.id, sent.id
    reply = client.post(f"/inbox/{contact_id}/messages", data={"body": "hello?"}, headers=HX)
    assert reply.status_code == REFUSED and 'id="reply-box"' in reply.get_data(as_text=True)
    retry = client.post(f"/inbox/messages/{sent_id}/retry", headers=HX)
    assert retry.status_code == REFUSED and "Only failed messages can be retried." in retry.get_data(as_text=True)


@pytest.mark.parametrize("url, data, message", [
    ("/login", {"email": "nobody@example.com", "password": "wrong-password-1"}, "Email or password is incorrect"),
    ("/signup", {"tenant_name": "Acme", "email": "new@example.com", "password": TEST_PASSWORD,
                 "confirm": "something-else-1"}, "Passwords differ"),
])
def test_refused_auth_forms_answer_422(client, url, data, message):
    response = client.post(url, data=data)
    assert response.status_code == REFUSED and message in response.get_data(as_text=True)
