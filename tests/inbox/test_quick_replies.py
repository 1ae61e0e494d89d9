"""Quick replies: create, validate, edit, delete, and their use in the reply box."""
from __future__ import annotations

import json
import re

import pytest

from models import QuickReply
from tests.channels.helpers import rows_of
from tests.factories import make_contact
from tests.inbox.conftest import add_message


def shortcuts(app, tenant_id):
    return [(q.shortcut, q.body) for q in rows_of(app, tenant_id, QuickReply)]


def test_create_strips_the_slash_and_lists_it(app, client, owner):
    response = client.post("/inbox/quick-replies", data={"shortcut": " /thanks ", "body": "Thank you for your order!"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/inbox/quick-replies")
    assert shortcuts(app, owner.tenant_id) == [("thanks", "Thank you for your order!")]
    page = client.get("/inbox/quick-replies").get_data(as_text=True)
    assert "/thanks" in page and "Thank you for your order!" in page and "Quick reply /thanks saved." in page


@pytest.mark.parametrize("data, message", [
    ({"shortcut": "", "body": "x"}, "Enter a shortcut."),
    ({"shortcut": "two words", "body": "x"}, "Use only letters, digits, - and _"),
    ({"shortcut": "a" * 31, "body": "x"}, "30 characters or fewer"),
    ({"shortcut": "ok", "body": "   "}, "Write the text to insert."),
    ({"shortcut": "ok", "body": "b" * 4097}, "at most 4096 characters"),
])
def test_bad_input_rerenders_with_a_message(app, client, owner, data, message):
    response = client.post("/inbox/quick-replies", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    if data["shortcut"] and len(data["shortcut"]) < 31:
        assert f'value="{data["shortcut"]}"' in html  # what was typed is still there
    assert shortcuts(app, owner.tenant_id) == []


def test_duplicates_are_refused_whatever_the_case(app, client, owner, create_user, login):
    client.post("/inbox/quick-replies", data={"shortcut": "hours", "body": "9 to 5"})
    response = client.post("/inbox/quick-replies", data={"shortcut": "/HOURS", "body": "other"})
    assert response.status_code == 422
    assert "/HOURS already exists. Edit that one or choose another shortcut." in response.get_data(as_text=True)
    assert shortcuts(app, owner.tenant_id) == [("hours", "9 to 5")]
    other = login(create_user(), test_client=app.test_client())
    assert other.post("/inbox/quick-replies", data={"shortcut": "hours", "body": "mine"}).status_code == 303


def test_edit_and_delete(app, client, owner):
    client.post("/inbox/quick-replies", data={"shortcut": "hi", "body": "Hello!"})
    client.post("/inbox/quick-replies", data={"shortcut": "bye", "body": "Goodbye!"})
    hi, bye = rows_of(app, owner.tenant_id, QuickReply)
    form = client.get(f"/inbox/quick-replies/{hi.id}/edit").get_data(as_text=True)
    assert 'value="hi"' in form and "Hello!" in form
    clash = client.post(f"/inbox/quick-replies/{hi.id}/edit", data={"shortcut": "Bye", "body": "Hello!"})
    assert clash.status_code == 422 and "/Bye already exists" in clash.get_data(as_text=True)
    same = client.post(f"/inbox/quick-replies/{hi.id}/edit", data={"shortcut": "HI", "body": "Hello there!"})
    assert same.status_code == 303  # changing only the case of its own shortcut is fine
    assert shortcuts(app, owner.tenant_id) == [("HI", "Hello there!"), ("bye", "Goodbye!")]
    assert client.post(f"/inbox/quick-replies/{bye.id}/delete").status_code == 303
    assert shortcuts(app, owner.tenant_id) == [("HI", "Hello there!")]
    assert client.get(f"/inbox/quick-replies/{bye.id}/edit").status_code == 404


def test_quick_replies_are_embedded_in_the_conversation(client, owner, in_tenant):
    client.post("/inbox/quick-replies", data={"shortcut": "menu", "body": "Our menu </script><b>x</b>"})
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        add_message(contact)
        contact_id = contact.id
    page = client.get(f"/inbox/{contact_id}").get_data(as_text=True)
    data = re.search(r'<script type="application/json" id="quick-replies-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data) == [{"shortcut": "menu", "body": "Our menu </script><b>x</b>"}]
    assert '<option value="menu">/menu</option>' in page


def test_database_refuses_shortcuts_differing_only_in_case(app, create_user, in_tenant):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from extensions import db
    from models import QuickReply

    user = create_user()
    with pytest.raises(IntegrityError):
        with in_tenant(user.tenant_id) as session:
            session.add(QuickReply(shortcut="thanks", body="Thank you!"))
            session.flush()
            session.add(QuickReply(shortcut="Thanks", body="Thank you too!"))
            session.flush()
    with app.app_context():
        db.session.rollback()


def test_each_delete_button_says_which_quick_reply_it_deletes(client, owner, in_tenant):
    from models import QuickReply

    with in_tenant(owner.tenant_id) as session:
        session.add(QuickReply(shortcut="thanks", body="Thank you!"))
    assert 'aria-label="Delete /thanks"' in client.get("/inbox/quick-replies").get_data(as_text=True)
