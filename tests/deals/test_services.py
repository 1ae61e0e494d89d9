"""Deal services: the default pipeline, creating and moving deals, history, closing, events and values."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Deal, DealHistory, DomainEvent, Pipeline, Stage
from services.deals import (
    DealFilter,
    DealInput,
    add_pipeline,
    add_stage,
    create_deal,
    delete_deal,
    format_minor,
    move_deal,
    move_stage,
    parse_value,
    stage_totals,
    update_stage,
)
from services.errors import Invalid
from tests.deals.conftest import make_deal, stages
from tests.factories import link, make_contact, make_tag


def column(stage_id: int) -> list[str]:
    return list(db.session.scalars(select(Deal.title).where(Deal.stage_id == stage_id).order_by(Deal.position)))


def test_sign_up_creates_the_default_pipeline(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        assert db.session.scalar(select(func.count(Pipeline.id))) == 1
        assert [(s.name, s.outcome) for s in stages()] == [("New", "open"), ("Qualified", "open"), ("Proposal", "open"),
                                                         ("Won", "won"), ("Lost", "lost")]


def test_a_new_deal_goes_on_top_of_its_column_with_its_first_history_entry(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        new = stages()[0]
        contact = make_contact()
        first, second = make_deal(contact, new, "First"), make_deal(contact, new, "Second")
        assert column(new.id) == ["Second", "First"]
        assert first.closed_at is None and second.value_minor == 10000
        history = db.session.scalars(select(DealHistory).where(DealHistory.deal_id == first.id)).all()
        assert [(h.from_stage_name, h.to_stage_name) for h in history] == [(None, "New")]


def test_moving_between_and_within_columns(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        new, qualified = stages()[:2]
        contact = make_contact()
        a, b, c = (make_deal(contact, new, t) for t in "ABC")
        assert column(new.id) == ["C", "B", "A"]
        move_deal(a, new.id, 0, user_id=user.id)
        assert column(new.id) == ["A", "C", "B"]
        move_deal(c, new.id, 2, user_id=user.id)
        assert column(new.id) == ["A", "B", "C"]
        move_deal(a, qualified.id, 0, user_id=user.id)
        move_deal(b, qualified.id, 1, user_id=user.id)
        assert column(new.id) == ["C"] and column(qualified.id) == ["A", "B"]
        move_deal(a, qualified.id, 99)  # past the end: the end
        assert column(qualified.id) == ["B", "A"]
        move_deal(c, qualified.id)  # no place given: on top, where the board shows it
        assert column(qualified.id) == ["C", "B", "A"]
        history = db.session.scalars(select(DealHistory).where(DealHistory.deal_id == a.id)
                                     .order_by(DealHistory.id)).all()
        assert [(h.from_stage_name, h.to_stage_name, h.user_id) for h in history] == [
            (None, "New", None), ("New", "Qualified", user.id)]


def test_won_and_lost_stages_close_a_deal_and_an_open_one_reopens_it(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        new, _q, _p, won, lost = stages()
        deal = make_deal(make_contact(), new)
        move_deal(deal, won.id)
        closed = deal.closed_at
        assert closed is not None
        move_deal(deal, lost.id)
        assert deal.closed_at == closed  # still closed since it was won
        move_deal(deal, new.id)
        assert deal.closed_at is None
        update_stage(new, "New", "won")
        assert deal.closed_at is not None


@pytest.mark.parametrize("bad", [None, 999999])
def test_a_move_to_an_unknown_stage_is_refused(create_user, in_tenant, bad):
    user = create_user()
    with in_tenant(user.tenant_id):
        deal = make_deal(make_contact(), stages()[0])
        with pytest.raises(Invalid) as refused:
            move_deal(deal, bad)
        assert "stage_id" in refused.value.errors


def test_a_move_to_another_pipelines_or_workspaces_stage_is_refused(create_user, in_tenant):
    user, other = create_user(), create_user()
    with in_tenant(other.tenant_id):
        foreign_stage = stages()[1].id
    with in_tenant(user.tenant_id):
        deal = make_deal(make_contact(), stages()[0])
        second = add_pipeline("Renewals")
        other_pipeline_stage = stages(second.id)[0].id
        for stage_id in (foreign_stage, other_pipeline_stage):
            with pytest.raises(Invalid):
                move_deal(deal, stage_id)
        assert deal.stage_id == stages()[0].id


def test_the_stage_changed_event_exists_only_if_the_move_commits(create_user, in_tenant, app):
    user = create_user()

    def recorded():
        rows = db.session.scalars(select(DomainEvent).where(DomainEvent.kind == "deal.stage_changed")
                                  .order_by(DomainEvent.id)).all()
        return [(e.subject_id, e.data["from_stage_id"], e.data["to_stage_id"]) for e in rows]

    with in_tenant(user.tenant_id):
        new, qualified = stages()[:2]
        deal = make_deal(make_contact(), new)
        db.session.commit()
        assert recorded() == [(deal.id, None, new.id)]
        move_deal(deal, qualified.id)
        db.session.rollback()
        assert recorded() == [(deal.id, None, new.id)]  # a rolled back move is never announced
        move_deal(deal, qualified.id)
        db.session.commit()
        assert recorded()[-1] == (deal.id, new.id, qualified.id)


@pytest.mark.parametrize("text, currency, minor", [("1,234.50", "USD", 123450), ("", "EUR", 0), ("1500", "JPY", 1500),
                                                   ("0.1", "USD", 10)])
def test_values_are_whole_minor_units(text, currency, minor):
    assert parse_value(text, currency) == minor


@pytest.mark.parametrize("text, currency", [("abc", "USD"), ("-5", "USD"), ("1.234", "USD"), ("1.5", "JPY"),
                                            ("1e20", "USD"), ("NaN", "USD")])
def test_bad_values_are_refused(text, currency):
    with pytest.raises(Invalid) as refused:
        parse_value(text, currency)
    assert "value" in refused.value.errors


def test_format_minor():
    assert format_minor(123450, "USD") == "USD 1,234.50"
    assert format_minor(1500, "JPY") == "JPY 1,500"


def test_bad_deal_input_names_every_field(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        with pytest.raises(Invalid) as refused:
            create_deal(DealInput(title=" ", contact_id=999999, stage_id=None, value="x", currency="dollars"))
        assert set(refused.value.errors) == {"title", "contact_id", "stage_id", "currency"}
        assert db.session.scalar(select(func.count(Deal.id))) == 0


def test_totals_count_and_sum_per_stage_and_currency_under_the_filter(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        new, qualified = stages()[:2]
        pipeline = db.session.scalar(select(Pipeline))
        anna, bob = make_contact(name="Anna"), make_contact(name="Bob")
        vip = make_tag(name="vip")
        link(anna, vip)
        make_deal(anna, new, value="10", expected_close_on=date(2026, 3, 5))
        make_deal(anna, new, value="5.50", expected_close_on=date(2026, 4, 1))
        make_deal(bob, new, value="7", currency="EUR")
        make_deal(bob, qualified, value="1")
        totals = stage_totals(pipeline, DealFilter())
        assert totals[new.id].count == 3 and totals[new.id].values == {"EUR": 700, "USD": 1550}
        assert totals[qualified.id].count == 1
        assert stage_totals(pipeline, DealFilter(tag_id=vip.id))[new.id].values == {"USD": 1550}
        assert stage_totals(pipeline, DealFilter(contact_id=bob.id))[new.id].values == {"EUR": 700}
        march = stage_totals(pipeline, DealFilter(month="2026-03"))
        assert march[new.id].count == 1 and qualified.id not in march


def test_stages_are_added_renamed_reordered_and_refused_with_reasons(create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        pipeline = db.session.scalar(select(Pipeline))
        stage = add_stage(pipeline, "  Negotiation ", "open")
        assert stages()[-1].name == "Negotiation"
        move_stage(stage, -1)
        assert [s.name for s in stages()][-2:] == ["Negotiation", "Lost"]
        with pytest.raises(Invalid) as refused:
            add_stage(pipeline, "", "maybe")
        assert set(refused.value.errors) == {"name", "outcome"}
        first = stages()[0]
        with pytest.raises(Invalid):
            move_stage(first, -1)
        with pytest.raises(Invalid):
            add_pipeline("sales")  # the default is called Sales
        assert db.session.scalar(select(func.count(Stage.id))) == 6


def test_deleting_a_deal_keeps_its_notes_on_the_contact(create_user, in_tenant):
    from zoneinfo import ZoneInfo

    from models import Note, Task
    from services.notes import add_note
    from services.tasks import create_task

    user = create_user()
    with in_tenant(user.tenant_id):
        contact = make_contact()
        deal = make_deal(contact, stages()[0])
        add_note(contact, "about the deal", deal=deal)
        create_task("call", None, ZoneInfo("UTC"), deal=deal)
        delete_deal(deal)
        note = db.session.scalar(select(Note))
        assert note.body == "about the deal" and note.deal_id is None
        assert db.session.scalar(select(func.count(Task.id))) == 0
        assert db.session.scalar(select(func.count(DealHistory.id))) == 0


def test_a_streamed_read_opening_its_transaction_sees_the_workspaces_rows(create_user, in_tenant):
    """On PostgreSQL yield_per uses a server-side cursor; the tenant settings must still reach its transaction."""
    user, other = create_user(), create_user()
    with in_tenant(other.tenant_id):
        make_deal(make_contact(), stages()[0], "Theirs")
    with in_tenant(user.tenant_id):
        make_deal(make_contact(), stages()[0], "Mine")
        db.session.commit()  # the next statement opens a new transaction
        streamed = db.session.scalars(select(Deal.title).execution_options(yield_per=1))
        assert list(streamed) == ["Mine"]
