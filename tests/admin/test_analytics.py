"""Analytics: per-day counts by status and direction, response rate and median first response, opt-outs,
broadcast performance, the date range, one workspace's figures never another's, and the platform's total."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from extensions import db
from models import Broadcast, BroadcastRecipient, Message
from models.tenancy import unscoped
from services.admin.rollup import roll_up_days
from services.analytics import (
    broadcast_performance,
    date_range,
    human_duration,
    messages_over_time,
    opt_outs,
)
from services.errors import Invalid
from services.response_times import responsiveness
from tests.factories import make_contact

DAY = date(2026, 3, 10)


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC) + timedelta(days=day_offset)


def msg(contact, direction, when, status="sent", origin="inbox", **fields):
    message = Message(contact_id=contact.id, direction=direction, type="text", status=status, body="x",
                      origin=origin, created_at=when, **fields)
    db.session.add(message)
    db.session.flush()
    return message


def roll_up(app, now: datetime) -> None:
    """Run the usage rollup as the job does at `now` (response figures are read from it)."""
    with app.app_context():
        roll_up_days(now)
        db.session.commit()


@pytest.fixture
def two_workspaces(app, create_user, in_tenant):
    """Workspace A with a small history over two days; workspace B with messages that must never show in A.
    The usage rollup has run at the end of the second day."""
    a, b = create_user(), create_user()
    with in_tenant(a.tenant_id):
        ana, bob = make_contact(name="Ana"), make_contact(name="Bob")
        msg(ana, "in", at(0, 9), status="received")
        msg(ana, "out", at(0, 9, 10), status="read")          # answered after 10 minutes
        msg(ana, "in", at(0, 12), status="received")
        msg(ana, "in", at(0, 12, 5), status="received")       # same turn: still waiting
        msg(ana, "out", at(0, 12, 30), status="delivered")    # answered after 30 minutes
        msg(bob, "in", at(1, 8), status="received")
        msg(bob, "out", at(1, 8, 1), status="sent", origin="system")  # an automatic reply answers nobody
        msg(bob, "out", at(1, 23, 59), status="failed")
        bob.opted_out, bob.opted_out_at = True, at(1, 10)
    with in_tenant(b.tenant_id):
        other = make_contact(name="Other")
        for n in range(5):
            msg(other, "out", at(0, 10, n), status="read")
        # Two turns of B's: one answered after 50 minutes, one not (B's figures must never reach A's).
        msg(other, "in", at(0, 14), status="received")
        msg(other, "out", at(0, 14, 50), status="read")
        msg(other, "in", at(1, 9), status="received")
    roll_up(app, at(1, 23, 59))
    return a, b


def test_messages_per_day_by_status_and_direction_in_one_workspace(two_workspaces, in_tenant):
    a, _b = two_workspaces
    with in_tenant(a.tenant_id):
        series = messages_over_time(date_range(DAY, DAY + timedelta(days=1)))
    assert series.labels == ["2026-03-10", "2026-03-11"]
    assert series.series["received"] == [3, 1]
    assert series.series["read"] == [1, 0]        # workspace B's five read messages are not here
    assert series.series["delivered"] == [1, 0]
    assert series.series["sent"] == [0, 1]
    assert series.series["failed"] == [0, 1]
    chart = series.as_chart()
    assert chart["x"][1] - chart["x"][0] == 86400 and chart["series"][0]["label"] == "received"


def test_response_rate_and_median_first_response(two_workspaces, in_tenant):
    a, _b = two_workspaces
    with in_tenant(a.tenant_id):
        figures = responsiveness(date_range(DAY, DAY + timedelta(days=1)))
    # Three customer turns (Ana twice, Bob once); a person answered Ana's two, after 10 and 30 minutes. The
    # median comes from wait buckets, [10, 15) and [30, 45) minutes: the grouped median L + (n/2 - F) / f * w
    # puts it at the top of the first, 15 minutes (the exact one is 20).
    assert (figures["turns"], figures["answered"], figures["rate"]) == (3, 2, 67)
    assert figures["median_seconds"] == 15 * 60 and figures["median_text"] == "15 min"


def test_opt_outs_per_day(two_workspaces, in_tenant):
    a, b = two_workspaces
    with in_tenant(a.tenant_id):
        assert opt_outs(date_range(DAY, DAY + timedelta(days=1))).series["opt-outs"] == [0, 1]
    with in_tenant(b.tenant_id):
        assert opt_outs(date_range(DAY, DAY + timedelta(days=1))).series["opt-outs"] == [0, 0]


def test_broadcast_performance(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        contacts = [make_contact() for _ in range(4)]
        broadcast = Broadcast(name="March promo", status="completed", body="hi", audience={"kind": "all"},
                              started_at=at(0, 9))
        db.session.add(broadcast)
        db.session.flush()
        for contact, status in zip(contacts, ("read", "delivered", "sent", "failed"), strict=True):
            message = msg(contact, "out", at(0, 9, 1), status=status, origin="broadcast")
            db.session.add(BroadcastRecipient(broadcast_id=broadcast.id, contact_id=contact.id,
                                              state="failed" if status == "failed" else "sent",
                                              message_id=message.id))
        msg(contacts[0], "in", at(0, 11), status="received")  # a reply
        [row] = broadcast_performance(date_range(DAY, DAY))
    assert (row["name"], row["recipients"], row["sent"], row["delivered"], row["read"], row["failed"],
            row["replied"]) == ("March promo", 4, 3, 2, 1, 1, 1)


def test_the_range_is_checked():
    with pytest.raises(Invalid, match="after the end"):
        date_range(DAY, DAY - timedelta(days=1))
    with pytest.raises(Invalid, match="at most 366"):
        date_range(DAY - timedelta(days=400), DAY)
    default = date_range(today=DAY)
    assert (default.since, default.until) == (DAY - timedelta(days=29), DAY)
    assert human_duration(45) == "45 s" and human_duration(3 * 3600 + 1200) == "3 h 20 min"


def test_the_page_shows_only_its_own_workspace_and_refuses_a_bad_range(app, client, login, two_workspaces):
    a, _b = two_workspaces
    login(a)
    page = client.get("/analytics/?since=2026-03-10&until=2026-03-11").get_data(as_text=True)
    assert 'id="response-rate">67%' in page and 'id="median-response">15 min' in page
    # Sent figure: A's 3 sent/delivered/read; B's five read messages would make it 8.
    assert '<header>Sent</header><strong class="figure">3</strong>' in page
    refused = client.get("/analytics/?since=2026-03-11&until=2026-03-10")
    assert refused.status_code == 422 and "after the end date" in refused.get_data(as_text=True)


def test_admins_see_the_whole_platform(app, admin_client, two_workspaces, audit_entries):
    page = admin_client.get("/admin/analytics?since=2026-03-10&until=2026-03-11").get_data(as_text=True)
    assert '<header>Sent</header><strong class="figure">9</strong>' in page
    assert "Platform analytics" in page
    # Every workspace's customer turns: A's three (two answered, after 10 and 30 minutes) and B's two (one
    # answered after 50 minutes): 3 of 5; the middle answer sits in the [30, 45) minute bucket, read as its
    # middle, 37 minutes (the exact median is 30).
    assert 'id="response-rate">60%' in page and 'id="median-response">37 min' in page
    assert len(audit_entries("admin.viewed_analytics")) == 1


def test_response_figures_never_count_another_workspace(two_workspaces, in_tenant, app):
    a, b = two_workspaces
    span = date_range(DAY, DAY + timedelta(days=1))
    with in_tenant(b.tenant_id):
        # 50 minutes lands in the [45, 60) minute bucket: its middle.
        assert (responsiveness(span)["turns"], responsiveness(span)["median_seconds"]) == (2, 52.5 * 60)
    with app.app_context(), unscoped():
        assert responsiveness(span)["turns"] == 5 and responsiveness(span)["answered"] == 3


def test_the_platform_figures_are_404_to_a_workspace_user(app, two_workspaces, login):
    a, _b = two_workspaces
    member = login(a, test_client=app.test_client())
    response = member.get("/admin/analytics?since=2026-03-10&until=2026-03-11")
    assert response.status_code == 404 and "60%" not in response.get_data(as_text=True)
