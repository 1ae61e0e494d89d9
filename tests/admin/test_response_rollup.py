"""Response figures live in the usage rollup: turns and answer-time buckets per workspace and day, rewritten for
the recent days only, and read back by the analytics pages (the platform's and a workspace's)."""
from __future__ import annotations

import random
import statistics
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from extensions import db
from models import Contact, Message, UsageDay
from models.base import utcnow
from models.tenancy import unscoped
from models.tenant_stats import WAIT_COLUMNS, WAIT_EDGES
from services.admin.rollup import RECENT_DAYS, roll_up_days
from services.response_times import median_from_waits
from tests.factories import make_contact


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC) + timedelta(days=day)


def msg(contact, direction, when, status="received", origin="inbox"):
    db.session.add(Message(contact_id=contact.id, direction=direction, type="text", status=status, body="x",
                           origin=origin, created_at=when))
    db.session.flush()


def roll_up(app, now: datetime) -> None:
    with app.app_context():
        roll_up_days(now)
        db.session.commit()


def day_row(app, tenant_id: int, day: date) -> dict | None:
    with app.app_context(), unscoped():
        row = db.session.scalars(select(UsageDay).where(UsageDay.tenant_id == tenant_id, UsageDay.day == day)).first()
        if row is None:
            return None
        waits = {name: getattr(row, name) for name in WAIT_COLUMNS if getattr(row, name)}
        return {"turns": row.turns, "answered": row.answered, "waits": waits, "sent": row.sent, "read": row.read}


def test_each_answer_is_counted_in_its_wait_bucket(app, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        ana, bob, cy = make_contact(name="Ana"), make_contact(name="Bob"), make_contact(name="Cy")
        msg(ana, "in", at(0, 9))
        msg(ana, "out", at(0, 9, 10), status="read")          # exactly 600 s: the bucket starting at 10 minutes
        msg(bob, "in", at(0, 10))
        msg(bob, "out", at(0, 10, 1), status="sent", origin="system")  # automatic: answers nobody
        msg(bob, "out", at(0, 10, 2), status="failed")                 # failed: answers nobody
        msg(cy, "in", at(0, 11))
        msg(cy, "out", at(3, 11), status="delivered")         # three days later, still within the week
    roll_up(app, at(0, 23))  # the run that night counts day 0's messages
    with in_tenant(user.tenant_id):
        msg(make_contact(name="Late"), "out", at(0, 12), status="read")  # written into day 0 afterwards
    roll_up(app, at(3, 12))  # three days on: Cy's answer lands; day 0's counts are kept as they were
    row = day_row(app, user.tenant_id, at(0, 0).date())
    assert (row["turns"], row["answered"]) == (3, 2)
    assert row["waits"] == {f"wait_{WAIT_EDGES.index(600) + 1}": 1, f"wait_{WAIT_EDGES.index(259200) + 1}": 1}
    assert (row["sent"], row["read"]) == (3, 1)  # Cy's answer counts on the day it was sent


def test_only_the_recent_days_are_rewritten(app, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        ana = make_contact(name="Ana")
        msg(ana, "in", at(0, 9))
        ana_id = ana.id
    roll_up(app, at(0, 12))
    assert day_row(app, user.tenant_id, at(0, 0).date())["answered"] == 0
    with in_tenant(user.tenant_id):
        msg(db.session.get(Contact, ana_id), "out", at(0, 9, 5), status="read")
    # A run a week later leaves the day alone (it is no longer recent) ...
    roll_up(app, at(RECENT_DAYS, 12))
    assert day_row(app, user.tenant_id, at(0, 0).date())["answered"] == 0
    # ... while a run on the window's last day still rewrites it.
    roll_up(app, at(RECENT_DAYS - 1, 12))
    assert day_row(app, user.tenant_id, at(0, 0).date())["answered"] == 1


def test_a_message_after_midnight_continues_the_turn_begun_the_day_before(app, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        ana = make_contact(name="Ana")
        msg(ana, "in", at(0, 23, 50))
        msg(ana, "in", at(1, 0, 10))
        msg(ana, "out", at(1, 0, 20), status="read")
    # The window starts on day 1: the turn began on day 0, outside it, so day 1 has no turn of its own.
    roll_up(app, at(RECENT_DAYS, 12))
    row = day_row(app, user.tenant_id, at(1, 0).date())
    assert row is None or row["turns"] == 0
    roll_up(app, at(RECENT_DAYS - 1, 12))
    assert day_row(app, user.tenant_id, at(0, 0).date())["answered"] == 1


def test_the_pages_read_the_rollup_not_the_messages(app, create_user, in_tenant, login, admin_client):
    user = create_user()
    with in_tenant(user.tenant_id):
        ana = make_contact(name="Ana")
        msg(ana, "in", at(0, 9))
        msg(ana, "out", at(0, 9, 2), status="read")           # 2 minutes: the [2, 3) minute bucket
    roll_up(app, at(0, 23))
    with in_tenant(user.tenant_id):
        bob = make_contact(name="Bob")
        msg(bob, "in", at(0, 10))                             # not rolled up yet
    urls = {"/admin/analytics?since=2026-03-10&until=2026-03-10": admin_client,
            "/analytics/?since=2026-03-10&until=2026-03-10": login(user, test_client=app.test_client())}
    for url, client in urls.items():
        page = client.get(url).get_data(as_text=True)
        assert 'id="response-rate">100%' in page and 'id="median-response">2 min' in page, url
    roll_up(app, at(0, 23))
    for url, client in urls.items():
        assert 'id="response-rate">50%' in client.get(url).get_data(as_text=True), url
    # The platform's sent figure is the rollup's too: one read message.
    assert '<header>Sent</header><strong class="figure">1</strong>' in admin_client.get(
        "/admin/analytics?since=2026-03-10&until=2026-03-10").get_data(as_text=True)


def test_the_median_read_from_buckets():
    assert median_from_waits([0] * len(WAIT_COLUMNS)) is None
    one_minute = WAIT_EDGES.index(60) + 1                    # the [60, 120) bucket
    waits = [0] * len(WAIT_COLUMNS)
    waits[one_minute] = 4
    assert median_from_waits(waits) == 90                    # half-way through the bucket's four answers
    waits[-1] = 10                                           # most answers took longer than a week
    assert median_from_waits(waits) == WAIT_EDGES[-1]        # "at least" the open bucket's lower edge


def test_the_median_lies_in_the_bucket_of_the_exact_one():
    rng = random.Random(13)
    for _ in range(200):
        delays = [rng.lognormvariate(7, 2) for _ in range(rng.choice((1, 3, 51, 1001)))]
        waits = [0] * len(WAIT_COLUMNS)
        for delay in delays:
            waits[bisect_right(WAIT_EDGES, delay)] += 1
        exact = statistics.median(delays)
        bucket = bisect_right(WAIT_EDGES, exact)
        low = WAIT_EDGES[bucket - 1] if bucket else 0
        high = WAIT_EDGES[bucket] if bucket < len(WAIT_EDGES) else low
        assert low <= median_from_waits(waits) <= high, (exact, median_from_waits(waits))


def test_flask_usage_rollup_fills_in_older_days(app, create_user, in_tenant):
    from datetime import timedelta as days

    user = create_user()
    long_ago = utcnow() - days(days=20)
    with in_tenant(user.tenant_id):
        ana = make_contact(name="Ana")
        msg(ana, "in", long_ago)
        msg(ana, "out", long_ago + days(minutes=5), status="read")
    result = app.test_cli_runner().invoke(args=["usage-rollup", "--days", "30"])
    assert result.exit_code == 0, result.output
    row = day_row(app, user.tenant_id, long_ago.date())
    assert (row["turns"], row["answered"], row["sent"]) == (1, 1, 1)
