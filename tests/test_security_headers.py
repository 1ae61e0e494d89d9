"""Content-Security-Policy, HSTS and caching headers, and pages that need nothing the policy forbids."""
from __future__ import annotations

import re

import pytest

from tests.factories import link, make_contact, make_tag
from tests.inbox.conftest import add_message


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_strict_content_security_policy(client):
    csp = directives(client.get("/login"))
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert "style-src-attr" not in csp and "script-src-attr" not in csp
    assert not any("unsafe" in value for values in csp.values() for value in values)


def test_policy_on_pages_partials_and_errors(client, create_user, login):
    login(create_user())
    for response in (client.get("/contacts/"), client.get("/contacts/", headers={"HX-Request": "true"}),
                     client.get("/no-such-page"), client.get("/sandbox/unknown")):
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_hsts_only_over_https(make_app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = make_app(PUBLIC_BASE_URL="https://crm.example.com").test_client()
    hsts = secure.get("/login").headers["Strict-Transport-Security"]
    assert re.fullmatch(r"max-age=\d{8,}; includeSubDomains", hsts)


def test_authenticated_pages_are_not_stored(client, create_user, login):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(create_user())
    for url in ("/contacts/", "/tags/", "/settings/", "/inbox/", "/no-such-page"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    htmx = client.get("/contacts/", headers={"HX-Request": "true"})
    assert htmx.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


@pytest.fixture
def workspace(app, client, create_user, login, in_tenant):
    """A logged-in workspace with a tagged contact and a conversation."""
    user = create_user()
    login(user)
    with in_tenant(user.tenant_id):
        contact = make_contact(name="Ana Souza")
        link(contact, make_tag("vip", color="#aa3300"))
        add_message(contact, "in", "hello")
        add_message(contact, "out", "hi there")
        return contact.id


INLINE_STYLE = re.compile(r"<[^>]+\sstyle=", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


def test_pages_use_no_inline_style_or_script(client, workspace):
    """Everything the CSP refuses is absent: no style attributes, no script without a src (data blocks aside)."""
    urls = ["/contacts/", f"/contacts/{workspace}", "/tags/", "/inbox/", f"/inbox/{workspace}", "/settings/",
            "/settings/whatsapp"]
    anonymous = client.application.test_client()
    visits = [(client, url) for url in urls] + [(anonymous, url) for url in ("/login", "/signup")]
    for browser, url in visits:
        response = browser.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert not INLINE_STYLE.search(page), url
        for attributes in SCRIPT_TAG.findall(page):
            assert "src=" in attributes or 'type="application/json"' in attributes, (url, attributes)
        assert not re.search(r"\son[a-z]+=", page), url  # no inline event handlers
    page = client.get(f"/contacts/{workspace}").get_data(as_text=True)
    assert 'data-pill="#aa3300"' in page  # the colour travels as data for static/js/app.js
