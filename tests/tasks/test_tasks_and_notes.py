"""Tasks (My tasks by the workspace's day, done, the overdue badge) and the notes timeline."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Note, Task, Tenant
from models.base import utcnow
from services.notes import add_note
from services.tasks import create_task, my_tasks, overdue_count
from tests.deals.conftest import make_deal, stages
from tests.factories import make_contact
from tests.test_isolation_routes import snapshot

NOW = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 07:30 on 11 March in Tokyo


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def titles(entries) -> list[str]:
    return [task.title for task, _name in entries]


def test_my_tasks_are_split_by_the_workspaces_day(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        contact = make_contact()
        tokyo = ZoneInfo("Asia/Tokyo")  # NOW is 07:30 on 11 March there; the day ends at 15:00 UTC
        for title, due in [("late", NOW - timedelta(minutes=1)), ("this morning", NOW + timedelta(hours=2)),
                           ("tonight", datetime(2026, 3, 11, 14, 59, tzinfo=UTC)),
                           ("tomorrow", datetime(2026, 3, 11, 15, 0, tzinfo=UTC)), ("whenever", None)]:
            task = create_task(title, None, tokyo, contact=contact, user_id=user.id)
            task.due_at = due
        done = create_task("finished", None, tokyo, contact=contact, user_id=user.id)
        done.due_at, done.done_at = NOW - timedelta(days=2), NOW - timedelta(days=1)
        create_task("someone else's", None, tokyo, contact=contact, user_id=None).due_at = NOW - timedelta(days=1)
        db.session.flush()
        mine = my_tasks(user.id, tokyo, now=NOW)
        assert titles(mine.overdue) == ["late"]
        assert titles(mine.today) == ["this morning", "tonight"]
        assert titles(mine.upcoming) == ["tomorrow", "whenever"]
        assert titles(mine.done) == ["finished"]
        assert overdue_count(user.id, now=NOW) == 1
        # In UTC the day of NOW ends 90 minutes later: both of Tokyo's "today" tasks are tomorrow there.
        utc = my_tasks(user.id, ZoneInfo("UTC"), now=NOW)
        assert titles(utc.today) == [] and titles(utc.upcoming)[:2] == ["this morning", "tonight"]


def test_a_due_time_is_read_in_the_workspaces_zone(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        task = create_task("call", datetime(2026, 7, 1, 9, 0), ZoneInfo("Europe/Lisbon"), contact=make_contact())
        assert task.due_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_adding_a_task_on_a_contact_and_marking_it_done(client, owner, in_tenant, app):
    with in_tenant(owner.tenant_id):
        db.session.get(Tenant, owner.tenant_id).time_zone = "Europe/Lisbon"
        contact_id = make_contact(name="Anna").id
    response = client.post(f"/tasks/new?contact_id={contact_id}",
                           data={"title": "Send the quote", "due_at": "2020-01-02T10:00", "back": "contact"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/contacts/{contact_id}")
    assert "Send the quote" in client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    mine = client.get("/tasks/").get_data(as_text=True)
    overdue = mine[mine.index('id="tasks-overdue"'):mine.index('id="tasks-today"')]
    assert "Send the quote" in overdue
    assert 'id="overdue-count"' in mine and ">1<" in mine
    with in_tenant(owner.tenant_id):
        task = db.session.scalar(select(Task))
        assert task.due_at == datetime(2020, 1, 2, 10, 0, tzinfo=UTC)  # Lisbon is on UTC in winter
        assert (task.assignee_id, task.created_by_id) == (owner.id, owner.id)
        task_id = task.id
    assert client.post(f"/tasks/{task_id}/done", data={"back": "mine"}).status_code == 303
    page = client.get("/tasks/").get_data(as_text=True)
    assert 'id="overdue-count"' not in page
    done = page[page.index('id="tasks-done"'):]
    assert "Send the quote" in done
    client.post(f"/tasks/{task_id}/done", data={"done": "0"})
    with in_tenant(owner.tenant_id):
        assert db.session.get(Task, task_id).done_at is None


def test_a_task_on_a_deal_shows_on_the_deal_and_its_contact(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        deal_id, contact_id = make_deal(contact, stages()[0]).id, contact.id
    response = client.post(f"/tasks/new?deal_id={deal_id}", data={"title": "Demo", "back": "deal"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/deals/{deal_id}")
    assert "Demo" in client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Demo" in client.get(f"/contacts/{contact_id}").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [({"title": ""}, "Enter what has to be done."),
                                           ({"title": "x" * 201}, "Keep it under 200 characters."),
                                           ({"title": "ok", "due_at": "tomorrow"}, "Not a valid datetime value.")])
def test_bad_task_input_rerenders_with_the_message(client, owner, in_tenant, data, message):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    response = client.post(f"/tasks/new?contact_id={contact_id}", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(func.count(Task.id))) == 0


def test_a_task_needs_a_contact_or_a_deal(client, owner, in_tenant):
    response = client.post("/tasks/new", data={"title": "Floating"})
    assert response.status_code == 422 and "A task belongs to a contact or a deal." in response.get_data(as_text=True)


def test_the_notes_timeline_adds_and_deletes_entries_newest_first(client, owner, in_tenant):
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        deal = make_deal(contact, stages()[0])
        contact_id, deal_id = contact.id, deal.id
    client.post(f"/notes/new/{contact_id}", data={"body": "First call went well", "back": "contact"})
    response = client.post(f"/notes/new/{contact_id}?deal_id={deal_id}", data={"body": "Sent the <b>quote</b>",
                                                                               "back": "deal"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/deals/{deal_id}")
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert page.index("Sent the &lt;b&gt;quote&lt;/b&gt;") < page.index("First call went well")
    assert owner.email in page
    deal_page = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "quote" in deal_page and "First call went well" not in deal_page
    with in_tenant(owner.tenant_id):
        note_id = db.session.scalar(select(Note.id).where(Note.deal_id.is_(None)))
    assert client.post(f"/notes/{note_id}/delete", data={"back": "contact"}).status_code == 303
    assert "First call went well" not in client.get(f"/contacts/{contact_id}").get_data(as_text=True)


@pytest.mark.parametrize("body, message", [("   ", "Write the note first."),
                                           ("n" * 5001, "Keep a note under 5000 characters.")])
def test_bad_notes_are_refused_with_the_message(client, owner, in_tenant, body, message):
    with in_tenant(owner.tenant_id):
        contact_id = make_contact().id
    response = client.post(f"/notes/new/{contact_id}", data={"body": body})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(func.count(Note.id))) == 0


def test_a_note_about_another_contacts_deal_is_refused(create_user, in_tenant):
    from services.errors import Invalid

    user = create_user()
    with in_tenant(user.tenant_id):
        deal = make_deal(make_contact(), stages()[0])
        with pytest.raises(Invalid):
            add_note(make_contact(), "wrong", deal=deal)


def test_another_workspace_cannot_add_tasks_or_notes_to_or_see_ones_contacts_deals_and_tasks(
        app, create_user, login, in_tenant):
    owner, intruder = create_user(), create_user()
    with in_tenant(owner.tenant_id):
        contact = make_contact()
        deal = make_deal(contact, stages()[0])
        task = create_task("secret task", None, ZoneInfo("UTC"), deal=deal, user_id=owner.id)
        task.due_at = utcnow() - timedelta(days=1)
        add_note(contact, "secret note")
        ids = {"contact": contact.id, "deal": deal.id, "task": task.id}
    client = login(intruder, test_client=app.test_client())
    before = snapshot(app)
    assert client.post(f"/tasks/new?contact_id={ids['contact']}", data={"title": "x"}).status_code == 404
    assert client.post(f"/tasks/new?deal_id={ids['deal']}", data={"title": "x"}).status_code == 404
    assert client.post(f"/tasks/{ids['task']}/done").status_code == 404
    assert client.post(f"/notes/new/{ids['contact']}", data={"body": "x"}).status_code == 404
    assert client.post(f"/deals/new?contact_id={ids['contact']}", data={"title": "x"}).status_code == 404
    with in_tenant(intruder.tenant_id):
        own_contact = make_contact().id
    before = snapshot(app)
    assert client.post(f"/notes/new/{own_contact}?deal_id={ids['deal']}", data={"body": "x"}).status_code == 404
    assert snapshot(app) == before
    page = client.get("/tasks/").get_data(as_text=True)
    assert "secret task" not in page and 'id="overdue-count"' not in page


def test_a_new_contacts_first_note_starts_its_timeline(client, owner, in_tenant):
    response = client.post("/contacts/new", data={"name": "Nora", "phone": "+14155550199",
                                                  "notes": "  Met at the fair.  "})
    assert response.status_code == 303
    with in_tenant(owner.tenant_id):
        note = db.session.scalar(select(Note))
        assert (note.body, note.author_id, note.deal_id) == ("Met at the fair.", owner.id, None)
        contact_id = note.contact_id
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Met at the fair." in page
    assert 'name="notes"' not in client.get(f"/contacts/{contact_id}/edit").get_data(as_text=True)
    assert 'name="notes"' in client.get("/contacts/new").get_data(as_text=True)
