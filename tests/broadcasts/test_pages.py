"""Broadcast pages: write, preview, confirm with the exact count, progress polling, actions, the inbox label."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from extensions import db
from models import Broadcast, BroadcastRecipient, Message
from models.base import utcnow
from tests.factories import link, make_contact, make_tag

HX = {"HX-Request": "true"}


def _tagged(in_tenant, tenant_id: int, count: int, opted_out: int = 0) -> int:
    with in_tenant(tenant_id):
        tag = make_tag(name="customers")
        for n in range(count + opted_out):
            link(make_contact(name=f"Ana {n}", opted_out=n >= count), tag)
        return tag.id


def _create(client, tag_id: int, **extra):
    data = {"name": "Spring sale", "audience_kind": "tags", "tag_ids": [str(tag_id)], "content": "text",
            "body": "Hi {{first_name|there}}!", "when": "now", **extra}
    return client.post("/broadcasts/new", data=data)


def test_write_confirm_and_watch_progress(client, sandbox_connected, in_tenant, run_jobs, feed_until_done):
    tenant = sandbox_connected.tenant_id
    tag_id = _tagged(in_tenant, tenant, 3, opted_out=1)
    preview = client.post("/broadcasts/preview", headers=HX, data={
        "audience_kind": "tags", "tag_ids": [str(tag_id)], "content": "text", "body": "Hi {{first_name|there}}!"})
    text = preview.get_data(as_text=True)
    assert 'data-audience-count>3<' in text and "Hi Ana!" in text

    response = _create(client, tag_id)
    assert response.status_code == 303
    url = response.headers["Location"]
    confirm = client.get(url).get_data(as_text=True)
    assert "data-confirm-count>3<" in confirm and "Send to 3 contacts now" in confirm
    broadcast_id = int(url.rstrip("/").rsplit("/", 1)[1])

    assert client.post(f"/broadcasts/{broadcast_id}/start").status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert 'id="broadcast-progress"' in page and 'hx-trigger="every 2s"' in page
    version = re.search(r"progress\?v=([0-9a-f]+)", page).group(1)
    assert client.get(f"/broadcasts/{broadcast_id}/progress?v={version}", headers=HX).status_code == 204

    assert feed_until_done(tenant, broadcast_id) == "completed"
    done = client.get(f"/broadcasts/{broadcast_id}/progress?v={version}", headers=HX)
    assert done.status_code == 200
    body = done.get_data(as_text=True)
    assert "100%" in body and "every 2s" not in body  # final: no more fast polling
    assert 'hx-trigger="every 30s"' in body  # receipts still arrive after the last send
    with in_tenant(tenant):  # long finished: its receipts are in, the page stops asking
        db.session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                           .values(finished_at=utcnow() - timedelta(days=3)))
    assert "hx-trigger" not in client.get(f"/broadcasts/{broadcast_id}/progress", headers=HX).text
    assert re.search(r"data-counter=\"(sent|delivered|read)\"><dt>\w+</dt><dd>3<", body), body
    listing = client.get("/broadcasts/").get_data(as_text=True)
    assert "Spring sale" in listing and "completed" in listing


def test_unknown_placeholder_is_refused_on_the_form(client, sandbox_connected, in_tenant):
    tag_id = _tagged(in_tenant, sandbox_connected.tenant_id, 1)
    response = _create(client, tag_id, body="Hi {{firstname}}")
    assert response.status_code == 422
    assert "Unknown placeholder {{firstname}}" in response.get_data(as_text=True)


def test_pause_and_resume_over_http(client, sandbox_connected, in_tenant, feed_until_done):
    tenant = sandbox_connected.tenant_id
    tag_id = _tagged(in_tenant, tenant, 4)
    broadcast_id = int(_create(client, tag_id).headers["Location"].rsplit("/", 1)[1])
    client.post(f"/broadcasts/{broadcast_id}/start")
    from jobs.broadcasts import feed_broadcast

    assert feed_broadcast(tenant, broadcast_id) == "more"  # messages queued, not sent yet
    assert client.post(f"/broadcasts/{broadcast_id}/pause").status_code == 303
    with in_tenant(tenant) as session:
        assert session.scalar(select(Broadcast.status)) == "paused"
        assert set(session.scalars(select(BroadcastRecipient.state))) == {"queued"}
        assert session.scalars(select(Message.id)).all() == []
    page = client.get(f"/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert 'data-action="resume"' in page and 'data-action="pause"' not in page
    assert client.post(f"/broadcasts/{broadcast_id}/resume").status_code == 303
    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        assert set(session.scalars(select(BroadcastRecipient.state))) == {"sent"}
    # A finished broadcast cannot be paused: the refusal is shown, nothing changes.
    client.post(f"/broadcasts/{broadcast_id}/pause")
    assert "Only a broadcast that is sending can be paused." in client.get(f"/broadcasts/{broadcast_id}").get_data(
        as_text=True)


def test_a_broadcast_message_is_labelled_in_the_inbox(client, sandbox_connected, in_tenant, feed_until_done):
    tenant = sandbox_connected.tenant_id
    tag_id = _tagged(in_tenant, tenant, 1)
    broadcast_id = int(_create(client, tag_id).headers["Location"].rsplit("/", 1)[1])
    client.post(f"/broadcasts/{broadcast_id}/start")
    feed_until_done(tenant, broadcast_id)
    with in_tenant(tenant) as session:
        contact_id = session.scalar(select(BroadcastRecipient.contact_id))
        session.execute(update(Message).values(body="Hi Ana!"))
    page = client.get(f"/inbox/{contact_id}").get_data(as_text=True)
    assert "Broadcast · Spring sale" in page


def test_a_draft_whose_segment_was_deleted_says_so(client, sandbox_connected, in_tenant):
    from services.segments import delete_segment, save_segment

    tenant = sandbox_connected.tenant_id
    tag_id = _tagged(in_tenant, tenant, 2)
    with in_tenant(tenant):
        segment_id = save_segment("Customers", {"version": 1, "conditions": [{"op": "tags_any", "tags": [tag_id]}]}).id
    response = client.post("/broadcasts/new", data={"name": "Seg", "audience_kind": "segment",
                                                    "segment_id": str(segment_id), "content": "text", "body": "Hi",
                                                    "when": "now"})
    assert response.status_code == 303
    url = response.headers["Location"]
    assert "data-confirm-count>2<" in client.get(url).get_data(as_text=True)
    with in_tenant(tenant) as session:
        from models import Segment

        delete_segment(session.get(Segment, segment_id))
    page = client.get(url)
    assert page.status_code == 200 and "The segment of this broadcast was deleted." in page.get_data(as_text=True)
    client.post(url + "/start")
    assert "The segment of this broadcast was deleted." in client.get(url).get_data(as_text=True)
    with in_tenant(tenant) as session:
        assert session.scalar(select(Broadcast.status)) == "draft"


def test_the_preview_never_counts_or_shows_another_workspaces_contacts(client, sandbox_connected, create_user,
                                                                      in_tenant):
    from services.segments import save_segment

    other = create_user()
    their_tag = _tagged(in_tenant, other.tenant_id, 4)
    with in_tenant(other.tenant_id):
        their_segment = save_segment("Theirs", {"version": 1, "conditions": [{"op": "name_contains",
                                                                               "text": "Ana"}]}).id
    by_tag = client.post("/broadcasts/preview", headers=HX, data={
        "audience_kind": "tags", "tag_ids": [str(their_tag)], "content": "text", "body": "Hi {{name}}"}).text
    assert "data-audience-count>0<" in by_tag and "Ana 0" not in by_tag
    by_segment = client.post("/broadcasts/preview", headers=HX, data={
        "audience_kind": "segment", "segment_id": str(their_segment), "content": "text", "body": "Hi"}).text
    assert "Choose a segment." in by_segment and "Ana 0" not in by_segment
