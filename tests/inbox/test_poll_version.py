"""The conversation-list poll answers from a per-tenant version, without scanning messages."""
from __future__ import annotations

import re

from sqlalchemy import event, update

from extensions import db
from models import Message
from models.tenancy import tenant_scope
from tests.factories import make_contact
from tests.inbox.conftest import add_message, hx


def poll(client, version: str):
    return client.get(f"/inbox/?v={version}", headers=hx("conversation-list"))


def version_of(html: str) -> str:
    return re.search(r'data-version="([^"]+)"', html).group(1)


def test_an_unchanged_poll_reads_no_messages(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        add_message(make_contact(name="Vera"), "in", "hello")
    version = version_of(client.get("/inbox/").get_data(as_text=True))
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert poll(client, version).status_code == 204
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert not [s for s in statements if re.search(r"\b(FROM|JOIN)\s+messages\b", s)], statements
    assert statements, "the listener saw the request's statements"


def test_the_version_moves_with_new_messages_status_writes_and_a_lost_redis(app, client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Walt")
        contact_id = contact.id
        message_id = add_message(contact, "out", "queued one", status="queued").id
    first = version_of(client.get("/inbox/").get_data(as_text=True))
    assert poll(client, first).status_code == 204

    with in_tenant(owner.tenant_id):  # a bulk UPDATE, as the outbox writes statuses
        db.session.execute(update(Message).where(Message.id == message_id).values(status="sent")
                           .execution_options(synchronize_session=False))
    changed = poll(client, first)
    assert changed.status_code == 200
    second = version_of(changed.get_data(as_text=True))
    assert second != first and poll(client, second).status_code == 204

    with in_tenant(owner.tenant_id):
        from models import Contact

        add_message(db.session.get(Contact, contact_id), "in", "a reply")
    third = version_of(poll(client, second).get_data(as_text=True))
    assert third != second

    with app.app_context():
        app.extensions["messagehub.redis"].flushdb()  # the counter is gone: a new epoch, never an old token
    assert poll(client, third).status_code == 200


def test_one_tenants_changes_do_not_move_anothers_version(app, client, owner, create_user, login, in_tenant):
    version = version_of(client.get("/inbox/").get_data(as_text=True))
    other = create_user()
    with in_tenant(other.tenant_id):
        add_message(make_contact(name="Elsewhere"), "in", "not yours")
    assert poll(client, version).status_code == 204
    with app.app_context(), tenant_scope(other.tenant_id):
        assert db.session.query(Message).count() == 1


def test_a_message_committed_while_the_list_renders_shows_in_the_next_poll(app, client, owner, in_tenant,
                                                                           monkeypatch):
    """The token is read before the rows, so a change landing between the two is never hidden behind it."""
    import services.inbox as queries

    real = queries.last_messages

    def rows_read_then_a_message_arrives(contact_ids):
        # Runs after the page's conversations were read, while the page is still being built.
        with in_tenant(owner.tenant_id):
            add_message(make_contact(name="Late Larry"), "in", "just in time")
        return real(contact_ids)

    monkeypatch.setattr(queries, "last_messages", rows_read_then_a_message_arrives)
    html = client.get("/inbox/").get_data(as_text=True)
    monkeypatch.undo()
    # Whether or not the page caught the message, the next poll must not answer "unchanged" without it.
    response = poll(client, version_of(html))
    shown = html if response.status_code == 204 else response.get_data(as_text=True)
    assert "Late Larry" in shown
