"""Deal analytics: value won per day per currency (on the day a deal was won, not the day it was created), the
open pipeline's value by stage, and neither ever counting another workspace's deals."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import DealHistory
from services.analytics import date_range
from services.deals import move_deal
from services.deals.analytics import pipeline_value_by_stage, won_value
from tests.deals.conftest import make_deal, stages
from tests.factories import make_contact

DAY = date(2026, 3, 10)


def at(day_offset: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, 10, hour, tzinfo=UTC) + timedelta(days=day_offset)


def deal(stage, value: str, currency: str = "USD", *, created: int = 0, closed: int | None = None):
    made = make_deal(make_contact(), stage, value=value, currency=currency)
    made.created_at = at(created)
    if closed is not None:
        made.closed_at = at(closed, hour=23)  # late in the UTC day: still that day
        _entered(made, at(closed, hour=23))
    db.session.flush()
    return made


def _entered(made, when: datetime) -> None:
    """Date the deal's latest stage change (the history the won day is read from)."""
    latest = db.session.scalars(select(DealHistory).where(DealHistory.deal_id == made.id)
                                .order_by(DealHistory.id.desc())).first()
    latest.created_at = when


@pytest.fixture
def two_workspaces(create_user, in_tenant):
    """Workspace A with open, won and lost deals in two currencies; workspace B with deals A must never count."""
    a, b = create_user(), create_user()
    with in_tenant(a.tenant_id):
        new, qualified, _proposal, won, lost = stages()
        deal(new, "100", created=0)
        deal(new, "50.25", "EUR", created=0)
        deal(qualified, "1,000", created=1)
        deal(won, "300", created=0, closed=1)      # created on the 10th, won on the 11th
        deal(won, "20.50", created=1, closed=1)
        deal(won, "7", "EUR", created=1, closed=2)
        deal(won, "999", created=-5, closed=-1)    # won before the range
        deal(lost, "5000", created=0, closed=1)    # lost: never won value
        comeback = deal(lost, "40", created=0, closed=0)  # lost on the 10th, won on the 12th
        move_deal(comeback, won.id)
        db.session.flush()
        _entered(comeback, at(2, hour=1))
    with in_tenant(b.tenant_id):
        new, _qualified, _proposal, won, _lost = stages()
        deal(new, "77777")
        deal(won, "88888", created=0, closed=1)
    return a, b


def test_won_value_per_day_per_currency_on_the_day_it_was_won(two_workspaces, in_tenant):
    a, b = two_workspaces
    span = date_range(DAY, DAY + timedelta(days=2))
    with in_tenant(a.tenant_id):
        won = won_value(span)
    assert won.labels == ["2026-03-10", "2026-03-11", "2026-03-12"]
    assert won.minor == {"EUR": [0, 0, 700], "USD": [0, 32050, 4000]}
    assert won.series == {"EUR": [0.0, 0.0, 7.0], "USD": [0.0, 320.5, 40.0]}
    assert won.cells["USD"] == ["0.00", "320.50", "40.00"]
    with in_tenant(b.tenant_id):
        assert won_value(span).minor == {"USD": [0, 88888_00, 0]}


def test_open_pipeline_value_by_stage(two_workspaces, in_tenant):
    a, _b = two_workspaces
    with in_tenant(a.tenant_id):
        values = pipeline_value_by_stage()
    assert values.labels == ["New", "Qualified", "Proposal"]  # won and lost stages hold no open deal
    assert values.counts == [2, 1, 0]
    assert values.minor == {"EUR": [5025, 0, 0], "USD": [10000, 100000, 0]}
    chart = values.as_chart()
    assert chart["categories"] == ["New", "Qualified", "Proposal"] and chart["x"] == [0, 1, 2]
    assert chart["series"][1] == {"label": "USD", "values": [100.0, 1000.0, 0.0]}


def test_the_page_shows_both_charts_with_their_tables(app, two_workspaces, login):
    a, _b = two_workspaces
    client = login(a, test_client=app.test_client())
    page = client.get("/analytics/?since=2026-03-10&until=2026-03-12").get_data(as_text=True)
    assert 'id="chart-won-value"' in page and 'id="chart-stage-value"' in page
    assert "<td>320.50</td>" in page and "<td>1,000.00</td>" in page and "<td>50.25</td>" in page
    assert "888" not in page and "77,777" not in page  # workspace B's deals


def test_the_platform_page_adds_every_workspaces_won_value(two_workspaces, admin_client):
    page = admin_client.get("/admin/analytics?since=2026-03-10&until=2026-03-12").get_data(as_text=True)
    assert 'id="chart-won-value"' in page and "<td>89,208.50</td>" in page  # 320.50 + 88,888.00 on the 11th
    assert 'id="chart-stage-value"' not in page
