"""The progress page's recipients table: keyset pages, the state filter with reasons, bad params, isolation."""
from __future__ import annotations

import re

import pytest

from extensions import db
from models import Broadcast, BroadcastRecipient, Message
from tests.factories import make_contact

HX = {"HX-Request": "true"}
# (recipient state, message status, recipient reason, message error) for recipient n, by n % 7.
KINDS = [("queued", None, None, None), ("sent", "sent", None, None), ("sent", "delivered", None, None),
         ("sent", "read", None, None), ("failed", "failed", None, "Number not on WhatsApp"),
         ("skipped", None, "Opted out", None), ("unknown", None, "Interrupted after the request left", None)]
SHOWN = ["queued", "sent", "delivered", "read", "failed", "skipped", "unknown"]


def _broadcast(in_tenant, tenant_id: int, count: int) -> tuple[int, dict[int, str]]:
    """A sending broadcast of `count` recipients in every state; returns its id and each recipient's state."""
    with in_tenant(tenant_id):
        broadcast = Broadcast(name="Big sale", status="sending", body="Hi", audience={"kind": "all"})
        db.session.add(broadcast)
        db.session.flush()
        states = {}
        for n in range(count):
            contact = make_contact(name=f"Rita {n}")
            state, status, reason, error = KINDS[n % len(KINDS)]
            message = None
            if status:
                message = Message(contact_id=contact.id, direction="out", type="text", status=status, body="Hi",
                                  error_title=error)
                db.session.add(message)
                db.session.flush()
            recipient = BroadcastRecipient(broadcast_id=broadcast.id, contact_id=contact.id, state=state,
                                           reason=reason, message_id=message.id if message else None)
            db.session.add(recipient)
            db.session.flush()
            states[recipient.id] = SHOWN[n % len(KINDS)]
        return broadcast.id, states


def _rows(html: str) -> list[tuple[int, str]]:
    return [(int(i), s) for i, s in re.findall(r'data-recipient-id="(\d+)" data-recipient-state="(\w+)"', html)]


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}"\s+hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_paging_walks_every_recipient_once_forwards_and_back(client, sandbox_connected, in_tenant):
    broadcast_id, states = _broadcast(in_tenant, sandbox_connected.tenant_id, 123)
    page = client.get(f"/broadcasts/{broadcast_id}").text
    assert len(_rows(page)) == 50 and _link(page, "prev") is None
    seen, pages = [], []
    url = f"/broadcasts/{broadcast_id}/recipients"
    while url:
        html = client.get(url, headers=HX).text
        rows = _rows(html)
        pages.append([i for i, _ in rows])
        seen += rows
        url = _link(html, "next")
    assert [len(p) for p in pages] == [50, 50, 23]
    assert sorted(i for i, _ in seen) == sorted(states) and len(seen) == len(states)  # each once
    assert dict(seen) == states  # each shows its counter's state
    # Previous from the last page gives back the same middle page, then the first (which has no Previous).
    back = client.get(f"/broadcasts/{broadcast_id}/recipients?before={pages[2][0]}", headers=HX).text
    assert [i for i, _ in _rows(back)] == pages[1] and _link(back, "next")
    first = client.get(_link(back, "prev"), headers=HX).text
    assert [i for i, _ in _rows(first)] == pages[0] and _link(first, "prev") is None


@pytest.mark.parametrize("state", SHOWN)
def test_the_filter_shows_only_that_state_with_reasons(client, sandbox_connected, in_tenant, state):
    broadcast_id, states = _broadcast(in_tenant, sandbox_connected.tenant_id, 120)
    html = client.get(f"/broadcasts/{broadcast_id}/recipients?state={state}", headers=HX).text
    rows = _rows(html)
    wanted = sorted(i for i, s in states.items() if s == state)
    assert [i for i, _ in rows] == wanted[:50]
    assert {s for _, s in rows} == {state}
    reasons = set(re.findall(r"<td data-reason>([^<]*)</td>", html))
    expected = {"failed": "Number not on WhatsApp", "skipped": "Opted out",
                "unknown": "Interrupted after the request left"}.get(state, "")
    assert reasons == {expected}
    # The pager keeps the filter.
    assert _link(html, "next") is None or f"state={state}" in _link(html, "next")


def test_a_filtered_walk_keeps_its_state(client, sandbox_connected, in_tenant):
    broadcast_id, states = _broadcast(in_tenant, sandbox_connected.tenant_id, 7 * 60)
    seen, url = [], f"/broadcasts/{broadcast_id}?state=failed"
    while url:
        html = client.get(url, headers=HX if "/recipients" in url else None).text
        seen += _rows(html)
        url = _link(html, "next")
    assert sorted(i for i, _ in seen) == sorted(i for i, s in states.items() if s == "failed")
    assert {s for _, s in seen} == {"failed"}


@pytest.mark.parametrize("query, message", [
    ("state=lost", "Unknown state “lost”"),
    ("after=abc", "“abc” is not a page of this table"),
    ("before=-3", "“-3” is not a page of this table"),
    ("after=99999999999999999999999", "is not a page of this table"),
    ("after=5&before=9", "not both"),
])
def test_bad_page_or_filter_params_say_so(client, sandbox_connected, in_tenant, query, message):
    broadcast_id, _ = _broadcast(in_tenant, sandbox_connected.tenant_id, 3)
    for url, headers in ((f"/broadcasts/{broadcast_id}/recipients?{query}", HX),
                         (f"/broadcasts/{broadcast_id}?{query}", None)):
        response = client.get(url, headers=headers)
        assert response.status_code == 400
        assert message in response.text
        assert len(_rows(response.text)) == 3  # the first page, unfiltered, is still there


def test_the_counters_poll_leaves_the_table_alone(client, sandbox_connected, in_tenant):
    broadcast_id, _ = _broadcast(in_tenant, sandbox_connected.tenant_id, 60)
    page = client.get(f"/broadcasts/{broadcast_id}?state=failed").text
    polled = page.split('id="broadcast-progress"', 1)[1].split("</section>", 1)[0]
    assert "hx-get" in page and 'id="broadcast-recipients"' not in polled  # the table is outside what is polled
    poll = client.get(f"/broadcasts/{broadcast_id}/progress", headers=HX).text
    assert "broadcast-recipients" not in poll and "data-recipient-id" not in poll
    assert 'hx-swap="outerHTML"' in poll and 'id="broadcast-progress"' in poll


def test_another_workspaces_table_is_404(client, sandbox_connected, create_user, in_tenant):
    other = create_user()
    theirs, _ = _broadcast(in_tenant, other.tenant_id, 3)
    for query in ("", "?state=failed", "?after=1", "?before=999"):
        assert client.get(f"/broadcasts/{theirs}/recipients{query}", headers=HX).status_code == 404
        assert client.get(f"/broadcasts/{theirs}{query}").status_code == 404
