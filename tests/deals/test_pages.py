"""Deal pages: adding (from the board, a contact, the conversation panel), editing, deleting, the deal page,
the sortable list, the CSV export and the pipeline settings."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Deal, Pipeline, Stage
from tests.deals.conftest import make_deal, stages
from tests.factories import make_contact
from tests.test_isolation_routes import snapshot


def test_a_deal_added_from_a_contact_lands_on_its_page_with_history(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Anna")
        contact_id, stage_id = contact.id, stages()[1].id
    form = client.get(f"/deals/new?contact_id={contact_id}&back=contact").get_data(as_text=True)
    assert "New deal for Anna" in form
    response = client.post(f"/deals/new?contact_id={contact_id}",
                           data={"title": "Website", "contact_id": contact_id, "stage_id": stage_id,
                                 "value": "2,500.00", "currency": "eur", "expected_close_on": "2026-05-31",
                                 "back": "contact"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/contacts/{contact_id}")
    contact_page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Website" in contact_page and "EUR 2,500.00" in contact_page
    with in_tenant(owner.tenant_id):
        deal = db.session.scalar(select(Deal))
        assert (deal.value_minor, deal.currency, deal.created_by_id) == (250000, "EUR", owner.id)
        deal_id = deal.id
    page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Added in Qualified" in page and owner.email in page
    assert f'href="/inbox/{contact_id}"' in page  # the contact's conversation


@pytest.mark.parametrize("data, message", [
    ({"title": ""}, "Enter a title for the deal."),
    ({"value": "lots"}, "Enter the value as a number"),
    ({"currency": "EURO"}, "three-letter currency code"),
    ({"stage_id": "999999"}, "Choose one of the pipeline"),
    ({"contact_id": "0"}, "Choose one of your contacts."),
])
def test_bad_deal_input_rerenders_with_the_message_and_saves_nothing(client, owner, in_tenant, data, message):
    with in_tenant(owner.tenant_id):
        contact_id, stage_id = make_contact().id, stages()[0].id
    fields = {"title": "Kept title", "contact_id": contact_id, "stage_id": stage_id, "value": "10",
              "currency": "USD", **data}
    response = client.post("/deals/new", data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    if fields["title"]:
        assert 'value="Kept title"' in page
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(func.count(Deal.id))) == 0


def test_the_conversation_panel_lists_open_deals_and_creates_one(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Anna")
        new, _q, _p, won, _l = stages()
        make_deal(contact, new, "Open one")
        make_deal(contact, won, "Won one")
        contact_id, stage_id = contact.id, new.id
    assert f'hx-get="/deals/contact/{contact_id}/panel"' in client.get(f"/inbox/{contact_id}").get_data(as_text=True)
    panel = client.get(f"/deals/contact/{contact_id}/panel", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in panel and "Open one" in panel and "Won one" not in panel
    response = client.post(f"/deals/new?contact_id={contact_id}",
                           data={"title": "From chat", "contact_id": contact_id, "stage_id": stage_id,
                                 "value": "", "currency": "USD", "back": "inbox"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/{contact_id}")
    assert "From chat" in client.get(f"/deals/contact/{contact_id}/panel").get_data(as_text=True)


def test_editing_a_deal_to_another_stage_is_a_move_in_its_history(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        deal = make_deal(contact, stages()[0], "Old title", value="1.50")
        deal_id, contact_id, proposal = deal.id, contact.id, stages()[2].id
    form = client.get(f"/deals/{deal_id}/edit").get_data(as_text=True)
    assert 'value="1.50"' in form
    response = client.post(f"/deals/{deal_id}/edit", data={"title": "New title", "contact_id": contact_id,
                                                           "stage_id": proposal, "value": "3", "currency": "USD"})
    assert response.status_code == 303
    page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "New title" in page and "New → Proposal" in page and "USD 3.00" in page


def test_deleting_a_deal(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        deal_id = make_deal(make_contact(), stages()[0]).id
    assert client.post(f"/deals/{deal_id}/delete").status_code == 303
    assert client.get(f"/deals/{deal_id}").status_code == 404


def test_the_list_sorts_by_each_column(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        new, qualified = stages()[:2]
        make_deal(make_contact(name="Zed"), qualified, "apple", value="5")
        make_deal(make_contact(name="Amy"), new, "Banana", value="50")
    def order(**args):
        page = client.get("/deals/list", query_string=args).get_data(as_text=True)
        return page.index("apple") < page.index("Banana")
    assert order(sort="title", dir="asc") and not order(sort="title", dir="desc")
    assert order(sort="value", dir="asc") and not order(sort="value", dir="desc")
    assert not order(sort="contact", dir="asc")
    assert not order(sort="stage", dir="asc")
    assert client.get("/deals/list?sort=nonsense").status_code == 200


def test_the_csv_export_streams_every_deal_with_formulas_defused(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="=HYPERLINK(\"http://evil\")")
        make_deal(contact, stages()[0], "+SUM(A1)", value="1234.5")
        make_deal(contact, stages()[3], "@cmd", value="0")
        make_deal(contact, stages()[0], "-2", value="1")
        make_deal(contact, stages()[0], "plain, with comma", value="2")
    response = client.get("/deals/export.csv?sort=title&dir=asc")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["id", "title", "contact"]
    by_title = {row[1]: row for row in rows[1:]}
    assert set(by_title) == {"'+SUM(A1)", "'@cmd", "'-2", "plain, with comma"}
    assert by_title["'+SUM(A1)"][2] == "'=HYPERLINK(\"http://evil\")"
    assert by_title["'+SUM(A1)"][5:7] == ["1234.50", "USD"]
    assert by_title["'@cmd"][4] == "won"


def test_the_csv_export_has_only_the_workspaces_own_deals(app, create_user, login, in_tenant):
    owner, intruder = create_user(), create_user()
    with in_tenant(owner.tenant_id):
        make_deal(make_contact(), stages()[0], "Secret deal")
    with in_tenant(intruder.tenant_id):
        make_deal(make_contact(), stages()[0], "Own deal")
    client = login(intruder, test_client=app.test_client())
    body = client.get("/deals/export.csv").get_data(as_text=True)
    assert "Own deal" in body and "Secret deal" not in body
    listing = client.get("/deals/list").get_data(as_text=True)
    assert "Own deal" in listing and "Secret deal" not in listing


def test_pipeline_settings_add_rename_reorder_and_mark_won(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        pipeline_id = db.session.scalar(select(Pipeline.id))
        first = stages()[0].id
    added = client.post(f"/deals/pipelines/{pipeline_id}/stages", data={"name": "Demo", "outcome": "open"})
    assert added.status_code == 303
    assert client.post(f"/deals/stages/{first}", data={"name": "Lead", "outcome": "won"}).status_code == 303
    assert client.post(f"/deals/stages/{first}/move", data={"direction": "right"}).status_code == 303
    assert client.post(f"/deals/pipelines/{pipeline_id}/rename", data={"name": "Main"}).status_code == 303
    assert client.post("/deals/pipelines", data={"name": "Renewals"}).status_code == 303
    with in_tenant(owner.tenant_id):
        assert [(s.name, s.outcome) for s in stages(pipeline_id)][:2] == [("Qualified", "open"), ("Lead", "won")]
        assert stages(pipeline_id)[-1].name == "Demo"
        assert sorted(db.session.scalars(select(Pipeline.name))) == ["Main", "Renewals"]
    page = client.get("/deals/pipelines").get_data(as_text=True)
    assert "Renewals" in page and "Main" in page


@pytest.mark.parametrize("url, data, message", [
    ("/deals/pipelines", {"name": ""}, "Enter a name for the pipeline."),
    ("stages", {"name": "", "outcome": "open"}, "Enter a name for the stage."),
    ("stages", {"name": "X", "outcome": "maybe"}, "Choose open, won or lost."),
    ("stage", {"name": "x" * 61, "outcome": "open"}, "Keep the name under 60 characters."),
    ("rename", {"name": " "}, "Enter a name for the pipeline."),
])
def test_bad_pipeline_settings_are_refused_with_reasons(client, owner, in_tenant, app, url, data, message):
    with in_tenant(owner.tenant_id):
        pipeline_id, stage_id = db.session.scalar(select(Pipeline.id)), stages()[0].id
    url = {"stages": f"/deals/pipelines/{pipeline_id}/stages", "stage": f"/deals/stages/{stage_id}",
           "rename": f"/deals/pipelines/{pipeline_id}/rename"}.get(url, url)
    before = snapshot(app)
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot(app) == before
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(func.count(Stage.id))) == 5


def test_editing_keeps_a_contact_that_is_not_among_the_recent_ones(client, owner, in_tenant):
    from models.base import utcnow

    with in_tenant(owner.tenant_id):
        old = make_contact(name="Old customer")
        deal_id = make_deal(old, stages()[0], "Renewal").id
        for n in range(501):
            make_contact(name=f"Recent {n}", last_message_at=utcnow())
        old_id = old.id
    form = client.get(f"/deals/{deal_id}/edit").get_data(as_text=True)
    assert f'<option selected value="{old_id}">Old customer</option>' in form


def test_a_new_deal_cannot_name_another_workspaces_contact_stage_or_pipeline(app, create_user, login, in_tenant):
    owner, intruder = create_user(), create_user()
    with in_tenant(owner.tenant_id):
        contact_id, stage_id = make_contact().id, stages()[0].id
        pipeline_id = db.session.scalar(select(Pipeline.id))
    with in_tenant(intruder.tenant_id):
        own_contact, own_stage = make_contact().id, stages()[0].id
    client = login(intruder, test_client=app.test_client())
    before = snapshot(app)
    base = {"title": "Grab", "value": "1", "currency": "USD"}
    refused = client.post("/deals/new", data={**base, "contact_id": contact_id, "stage_id": own_stage})
    assert refused.status_code == 422 and "Choose one of your contacts." in refused.get_data(as_text=True)
    refused = client.post("/deals/new", data={**base, "contact_id": own_contact, "stage_id": stage_id})
    assert refused.status_code == 422 and "Choose one of the pipeline" in refused.get_data(as_text=True)
    assert client.get(f"/deals/new?pipeline={pipeline_id}").status_code == 404
    assert snapshot(app) == before
