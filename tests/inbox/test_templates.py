"""Outside the 24-hour window on the Cloud API: the template picker, preview, send and sync."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Contact, MessageTemplate
from models.base import utcnow
from models.tenancy import tenant_scope
from tests.channels.conftest import WABA_ID
from tests.channels.helpers import channel_of, messages_of
from tests.factories import make_contact
from tests.inbox.conftest import add_message, hx

ORDER_BODY = "Hi {{1}}, your order {{2}} is ready for pickup."


@pytest.fixture
def outside_window(app, connected_cloud, in_tenant):
    """A contact of the Cloud tenant who has never written (window closed); returns its id."""
    assert channel_of(app, connected_cloud.tenant_id).state == "connected"
    with in_tenant(connected_cloud.tenant_id):
        contact = make_contact(name="Zoe Quinn", phone="+14155550142", email="zoe@example.com",
                               custom_fields={"order": "A-17"})
        add_message(contact, "out", "An old note", minutes_ago=3 * 24 * 60)
        contact.last_inbound_at = None
        return contact.id


def sync(client, graph, contact_id):
    graph.add_template(WABA_ID, "order_ready", "en_US", components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order update"}, {"type": "BODY", "text": ORDER_BODY}])
    graph.add_template(WABA_ID, "draft_promo", "en_US", status="PENDING")
    response = client.post("/inbox/templates/sync", data={"contact_id": contact_id})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/{contact_id}")
    return response


def template_id(app, tenant_id, name="order_ready") -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(MessageTemplate.id).where(MessageTemplate.name == name))


def test_closed_window_shows_the_picker_and_refuses_free_text(app, client, connected_cloud, outside_window):
    page = client.get(f"/inbox/{outside_window}").get_data(as_text=True)
    assert "The 24-hour window is closed." in page and 'id="reply-body"' not in page
    assert "No templates synced yet." in page and "Sync templates" in page
    before = len(messages_of(app, connected_cloud.tenant_id))
    refused = client.post(f"/inbox/{outside_window}/messages", data={"body": "Are you there?"}, headers=hx("reply-box"))
    assert refused.status_code == 422 and "24-hour customer-service window is closed" in refused.get_data(as_text=True)
    assert len(messages_of(app, connected_cloud.tenant_id)) == before


def test_open_window_says_when_it_closes(app, client, connected_cloud, outside_window):
    with app.app_context(), tenant_scope(connected_cloud.tenant_id):
        db.session.get(Contact, outside_window).last_inbound_at = utcnow() - timedelta(hours=20)
        db.session.commit()
    page = client.get(f"/inbox/{outside_window}").get_data(as_text=True)
    assert 'id="reply-body"' in page and "The 24-hour window is closed." not in page
    assert re.search(r"Customer-service window open for 3 h 5\d min", page) or "open for 4 h 0 min" in page


def test_sync_then_send_a_template_with_variables(app, client, graph, connected_cloud, outside_window, run_jobs):
    sync(client, graph, outside_window)
    page = client.get(f"/inbox/{outside_window}").get_data(as_text=True)
    assert "Templates synced: 2 new, 0 updated, 0 removed." in page
    assert "order_ready · en_US" in page and "draft_promo" not in page  # only approved ones are offered
    tid = template_id(app, connected_cloud.tenant_id)

    form = client.get(f"/inbox/{outside_window}/template-form?template_id={tid}", headers=hx("template-form"))
    html = form.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="template-form"') and "<html" not in html
    assert 'name="value_0" value="Zoe Quinn"' in html and 'name="value_1" value=""' in html
    assert 'data-value="A-17"' in html and ">Field: order<" in html
    assert "Hi Zoe Quinn, your order {{2}} is ready for pickup." in html

    preview = client.get(f"/inbox/{outside_window}/template-preview", headers=hx("template-preview"), query_string={
        "template_id": tid, "source_0": "custom", "value_0": "Zoe", "source_1": "field:order", "value_1": ""})
    assert "Order update\n\nHi Zoe, your order A-17 is ready for pickup." in preview.get_data(as_text=True)

    sent = client.post(f"/inbox/{outside_window}/template", headers=hx("reply-box"), data={
        "template_id": tid, "source_0": "name", "value_0": "Zoe", "source_1": "custom", "value_1": "B-99"})
    assert sent.status_code == 200 and "inbox:sent" in sent.headers["HX-Trigger"]
    message = messages_of(app, connected_cloud.tenant_id)[-1]
    assert (message.type, message.status) == ("template", "queued")
    assert message.body == "Order update\n\nHi Zoe, your order B-99 is ready for pickup."
    run_jobs()
    [delivered] = [body for body in graph.sent if body["type"] == "template"]
    assert delivered["to"] == "14155550142"
    assert delivered["template"]["name"] == "order_ready"
    [body] = [c for c in delivered["template"]["components"] if c["type"] == "body"]
    assert [p["text"] for p in body["parameters"]] == ["Zoe", "B-99"]
    assert messages_of(app, connected_cloud.tenant_id)[-1].status == "sent"


def test_missing_variable_is_refused_and_values_are_kept(app, client, graph, connected_cloud, outside_window):
    sync(client, graph, outside_window)
    tid = template_id(app, connected_cloud.tenant_id)
    before = len(messages_of(app, connected_cloud.tenant_id))
    response = client.post(f"/inbox/{outside_window}/template", headers=hx("reply-box"), data={
        "template_id": tid, "source_0": "custom", "value_0": "Dear Zoe", "source_1": "custom", "value_1": " "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Fill in the value for {{2}}." in html and 'value="Dear Zoe"' in html
    assert len(messages_of(app, connected_cloud.tenant_id)) == before
    unknown = client.post(f"/inbox/{outside_window}/template", headers=hx("reply-box"),
                          data={"template_id": template_id(app, connected_cloud.tenant_id, "draft_promo")})
    assert unknown.status_code == 422 and "Choose one of your approved templates." in unknown.get_data(as_text=True)


def test_template_choice_works_without_javascript(app, client, graph, connected_cloud, outside_window):
    sync(client, graph, outside_window)
    tid = template_id(app, connected_cloud.tenant_id)
    page = client.get(f"/inbox/{outside_window}/template-form?template_id={tid}").get_data(as_text=True)
    assert "<html" in page and 'name="value_0" value="Zoe Quinn"' in page
    sent = client.post(f"/inbox/{outside_window}/template", data={
        "template_id": tid, "source_0": "name", "value_0": "", "source_1": "field:order", "value_1": ""})
    assert sent.status_code == 303
    assert messages_of(app, connected_cloud.tenant_id)[-1].body.endswith(
        "Hi Zoe Quinn, your order A-17 is ready for pickup.")


def test_sync_errors_are_shown(app, client, graph, connected_cloud, outside_window):
    graph.fail_next(401, 190, message="Error validating access token: Session has expired")
    response = client.post("/inbox/templates/sync", data={"contact_id": outside_window})
    assert response.status_code == 303
    page = client.get(f"/inbox/{outside_window}").get_data(as_text=True)
    assert "Templates could not be synced:" in page


def test_sync_without_a_cloud_channel(client, owner, in_tenant):
    response = client.post("/inbox/templates/sync", data={"contact_id": "999999"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/inbox/")
    assert "Link a WhatsApp Cloud API number" in client.get("/inbox/").get_data(as_text=True)
