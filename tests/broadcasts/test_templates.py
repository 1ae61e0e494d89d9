"""A template broadcast on Cloud: variables mapped to contact fields or fixed text, sent outside the window too."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from models import BroadcastRecipient, Message, MessageTemplate
from models.base import utcnow
from tests.broadcasts.conftest import WABA_ID
from tests.factories import link, make_contact, make_tag

HX = {"HX-Request": "true"}


def test_a_template_broadcast_fills_variables_per_contact_and_ignores_the_window(client, cloud_connected, graph,
                                                                                 in_tenant, feed_until_done):
    tenant = cloud_connected.tenant_id
    graph.add_template(WABA_ID, "spring_sale", "en_US",
                       components=[{"type": "BODY", "text": "Hi {{1}}, {{2}} off in {{3}}."}])
    assert client.post("/inbox/templates/sync", data={}).status_code == 303
    with in_tenant(tenant) as session:
        tag = make_tag(name="customers")
        link(make_contact(name="Ana Sousa", custom_fields={"city": "Lisbon"},
                          last_inbound_at=utcnow() - timedelta(days=5)), tag)
        link(make_contact(name="Bo Berg", custom_fields={}), tag)
        template_id, tag_id = session.scalar(select(MessageTemplate.id)), tag.id
    form = {"name": "Spring", "audience_kind": "tags", "tag_ids": [str(tag_id)], "content": "template",
            "template_id": str(template_id), "when": "now",
            "source_0": "first_name", "value_0": "", "source_1": "custom", "value_1": "20%",
            "source_2": "field:city", "value_2": "your city"}
    preview = client.post("/broadcasts/preview", headers=HX, data=form).get_data(as_text=True)
    assert "Hi Ana, 20% off in Lisbon." in preview and "skipped" not in preview
    missing = client.post("/broadcasts/new", data={**form, "value_1": ""})
    assert missing.status_code == 422 and "Fill in the value for {{2}}" in missing.get_data(as_text=True)
    response = client.post("/broadcasts/new", data=form)
    assert response.status_code == 303
    broadcast_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/broadcasts/{broadcast_id}/start").status_code == 303

    assert feed_until_done(tenant, broadcast_id) == "completed"
    with in_tenant(tenant) as session:
        assert set(session.scalars(select(BroadcastRecipient.state))) == {"sent"}
        bodies = sorted(session.scalars(select(Message.body).where(Message.type == "template")))
    assert bodies == ["Hi Ana, 20% off in Lisbon.", "Hi Bo, 20% off in your city."]
    sent = sorted((body["to"], [p["text"] for p in body["template"]["components"][0]["parameters"]])
                  for body in graph.sent)
    assert [params for _to, params in sent] in ([["Ana", "20%", "Lisbon"], ["Bo", "20%", "your city"]],
                                                [["Bo", "20%", "your city"], ["Ana", "20%", "Lisbon"]])


def test_the_form_offers_the_templates_variables_with_custom_fields(client, cloud_connected, graph, in_tenant):
    graph.add_template(WABA_ID, "spring_sale", "en_US",
                       components=[{"type": "BODY", "text": "Hi {{1}}, {{2}} off in {{3}}."}])
    assert client.post("/inbox/templates/sync", data={}).status_code == 303
    with in_tenant(cloud_connected.tenant_id) as session:
        make_contact(name="Ana Sousa", custom_fields={"city": "Lisbon"})
        template_id = session.scalar(select(MessageTemplate.id))
    page = client.post("/broadcasts/new", data={"name": "x", "audience_kind": "all", "content": "template",
                                                "template_id": str(template_id), "refresh": "1"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert all(f'name="source_{i}"' in text for i in range(3)) and 'name="source_3"' not in text
    assert '<option value="field:city"' in text
    # The first variable starts as the contact's name, the others as fixed text.
    assert re.search(r'name="source_0">\s*<option value="name" selected', text)
    assert re.search(r'name="source_1">.*?<option value="custom" selected', text, re.S)
