"""Contacts list paging: numbered pages near the top, cursors deeper, the same rows in the same order either way,
and a cursor from another workspace shows nothing of it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

import services.paging
from tests.factories import link, make_contact, make_tag

PER_PAGE = 2
START = datetime(2026, 1, 1, tzinfo=UTC)
_NEXT = re.compile(r'<a href="([^"]+)"\s+hx-get="[^"]+"[^>]*>Next →</a>')
_PREV = re.compile(r'<a href="([^"]+)"\s+hx-get="[^"]+"[^>]*>← Previous</a>')
_NAMES = re.compile(r'<td class="name"><a href="/contacts/\d+">([^<]+)</a>')


@pytest.fixture
def small_pages(make_app, create_user, login, monkeypatch):
    """An app with two contacts a page and page numbers only for the first two pages (4 rows)."""
    monkeypatch.setattr(services.paging, "NUMBERED_ROWS", 4)
    app = make_app(CONTACTS_PER_PAGE=PER_PAGE)
    user = create_user()
    return app, user, login(user, test_client=app.test_client())


@dataclass(frozen=True)
class Made:
    name: str
    created_at: datetime
    id: int


def _arrange(in_tenant, tenant_id: int, specs):
    """Contacts from (name, minutes after START, tagged?) specs; returns the tag id and the expected order."""
    with in_tenant(tenant_id):
        tag = make_tag(name="vip")
        made = []
        for name, minutes, tagged in specs:
            contact = make_contact(name=name, email=f"{name.lower().replace(' ', '.')}@shop.test",
                                   created_at=START + timedelta(minutes=minutes))
            if tagged:
                link(contact, tag)
            made.append(contact)
        # Newest first; contacts created in the same instant come highest id first.
        made.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return tag.id, [Made(c.name, c.created_at, c.id) for c in made]


def _walk(client, url: str, pattern=_NEXT) -> tuple[list[list[str]], list[str]]:
    """Follow Next (or Previous) links from `url` to the end: the names on each page and each URL visited."""
    pages, urls = [], []
    while url:
        urls.append(url)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.get_data(as_text=True).replace("&amp;", "&")
        pages.append(_NAMES.findall(html))
        found = pattern.search(html)
        url = found.group(1) if found else None
        assert len(urls) < 50, "the pager loops"
    return pages, urls


# Ten contacts; three share one instant (the id decides among them), half carry the tag.
SPECS = [(f"Person {n}", minutes, n % 2 == 0) for n, minutes in enumerate([5, 1, 9, 3, 3, 3, 7, 2, 8, 6])]


def test_next_walks_every_contact_once_in_order_by_number_then_by_cursor(small_pages, in_tenant):
    app, user, client = small_pages
    _tag, made = _arrange(in_tenant, user.tenant_id, SPECS)
    pages, urls = _walk(client, "/contacts/")
    assert [name for page in pages for name in page] == [c.name for c in made]
    assert all(len(page) == PER_PAGE for page in pages)
    # Pages 1 and 2 go by number; from there Next carries a cursor.
    assert urls[:2] == ["/contacts/", "/contacts/?page=2"]
    assert all("after=" in url and "page=" not in url for url in urls[2:])


def test_previous_walks_back_to_the_first_page(small_pages, in_tenant):
    app, user, client = small_pages
    _tag, made = _arrange(in_tenant, user.tenant_id, SPECS)
    forward, urls = _walk(client, "/contacts/")
    backward, back_urls = _walk(client, urls[-1], pattern=_PREV)
    assert backward == list(reversed(forward))
    assert all("before=" in url for url in back_urls[1:])
    # Reaching the top by cursor shows the first page as it is: numbered, with no Previous.
    top = client.get(back_urls[-1]).get_data(as_text=True)
    assert "Page 1 of 5" in top and "← Previous" not in top


@pytest.mark.parametrize("cap", [1000, 2])
def test_search_and_tag_pages_match_filtering_every_contact(small_pages, in_tenant, monkeypatch, cap):
    """Below the count's cap the tag filter joins; above it, it probes along the newest-first order: same rows."""
    monkeypatch.setattr(services.paging, "COUNT_CAP", cap)
    app, user, client = small_pages
    tag_id, made = _arrange(in_tenant, user.tenant_id, SPECS)
    tagged = {n for n, (_name, _m, is_tagged) in enumerate(SPECS) if is_tagged}
    cases = {
        f"/contacts/?tag={tag_id}": [c.name for c in made if int(c.name.split()[1]) in tagged],
        "/contacts/?q=PERSON": [c.name for c in made],
        "/contacts/?q=shop.test": [c.name for c in made],
        "/contacts/?q=son%201": ["Person 1"],
        f"/contacts/?q=person&tag={tag_id}": [c.name for c in made if int(c.name.split()[1]) in tagged],
    }
    for url, expected in cases.items():
        pages, urls = _walk(client, url)
        assert [name for page in pages for name in page] == expected, url
        for later in urls[1:]:
            assert f"tag={tag_id}" in later if "tag=" in url else "tag=" not in later


def test_a_cursor_from_another_workspace_shows_only_this_workspaces_contacts_from_that_point(
        small_pages, create_user, in_tenant):
    app, user, client = small_pages
    _tag, mine = _arrange(in_tenant, user.tenant_id, SPECS)
    other = create_user()
    _arrange(in_tenant, other.tenant_id,
                                  [(f"Secret {n}", minutes, True) for n, minutes in enumerate([4, 2, 8, 6, 3, 5])])
    their_cursor_urls = _walk(_login_client(app, other), "/contacts/")[1][2:]
    assert their_cursor_urls, "the other workspace pages by cursor too"
    for url in their_cursor_urls:
        html = client.get(url).get_data(as_text=True)
        assert "Secret" not in html
        position = services.paging.Cursor.parse(re.search(r"after=([\d_]+)", url).group(1))
        older = [c.name for c in mine if (c.created_at, c.id) < (position.at, position.id)]
        assert _NAMES.findall(html) == older[:PER_PAGE]


def _login_client(app, user):
    from tests.conftest import TEST_PASSWORD

    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 303
    return client


@pytest.mark.parametrize("query", ["after=12x", "before=", "after=1_2_3", "after=123456789012345678_1"])
def test_a_bad_cursor_answers_the_first_page_with_a_message(small_pages, in_tenant, query):
    app, user, client = small_pages
    _arrange(in_tenant, user.tenant_id, SPECS[:3])
    response = client.get(f"/contacts/?q=person&{query}")
    assert response.status_code == 303 and response.headers["Location"] == "/contacts/?q=person"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "That page link is not valid" in page and "Person 0" in page


def test_a_page_number_past_the_numbered_pages_sends_to_the_first_page(small_pages, in_tenant):
    app, user, client = small_pages
    tag_id, _made = _arrange(in_tenant, user.tenant_id, SPECS)
    assert client.get("/contacts/?page=2").status_code == 200
    response = client.get(f"/contacts/?page=3&tag={tag_id}")
    assert response.status_code == 303 and response.headers["Location"] == f"/contacts/?tag={tag_id}"
    assert "Pages are numbered up to 2" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_cursor_tokens_round_trip_to_the_microsecond():
    at = datetime(2026, 11, 23, 14, 5, 40, 123456, tzinfo=UTC)
    cursor = services.paging.Cursor(at, 50018)
    assert cursor.token() == "1795442740123456_50018"
    assert services.paging.Cursor.parse(cursor.token()) == cursor


def _statements(app):
    """A list that fills with every SQL statement the app's engine runs while the caller holds it."""
    from sqlalchemy import event

    from extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("query, expected", [("son%201", "1 contact matching"), ("person+1", "1 contact matching"),
                                              ("nobody", "0 contacts matching"), ("person", "10 contacts matching")])
def test_a_search_counts_only_when_its_page_does_not_show_where_the_matches_end(small_pages, in_tenant, query,
                                                                                  expected):
    app, user, client = small_pages
    _arrange(in_tenant, user.tenant_id, SPECS)
    seen, stop = _statements(app)
    try:
        html = client.get(f"/contacts/?q={query}").get_data(as_text=True)
    finally:
        stop()
    assert expected in html
    counts = [s for s in seen if "count(" in s.lower() and "contacts" in s]
    # A page holding every match is its own count; ten matches over pages of two need the capped count.
    assert len(counts) == (1 if expected.startswith("10 ") else 0), counts
