"""Counts of filters that search text read the trigram indexes on PostgreSQL; the contacts counted stay the same."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from extensions import db
from services.segments import count_matching, preview
from services.segments.filters import counts_by_trigrams
from tests.factories import link, make_contact, make_tag
from tests.segments.helpers import flt


@pytest.mark.parametrize("definition, expected", [
    (flt({"op": "email_contains", "text": "corp.test"}, {"op": "custom_set", "key": "plan"}), True),
    (flt({"op": "name_contains", "text": "ana"}, {"op": "created_after", "date": "2026-01-01"}), True),
    (flt({"op": "phone_contains", "text": "4321"}, {"op": "inbound_within", "days": 3}), True),
    (flt({"op": "name_contains", "text": "an"}), False),  # under 3 characters: no trigram to look up
    (flt({"op": "name_contains", "text": "an"}, {"op": "email_contains", "text": "shop"}), True),
    (flt({"op": "email_contains", "text": "shop"}, {"op": "tags_any", "tags": [1]}), False),
    (flt({"op": "email_contains", "text": "shop"}, {"op": "tags_none", "tags": [1]}), False),
    (flt({"op": "email_contains", "text": "shop"}, {"op": "has_open_deal"}), False),  # another table
    (flt({"op": "custom_equals", "key": "city", "text": "lisbon"}), False),
    (flt(), False),
])
def test_which_counts_read_the_trigram_indexes(definition, expected):
    assert counts_by_trigrams(definition) is expected


@pytest.fixture
def workspace(create_user, in_tenant):
    """(tenant id, the "vip" tag's id): four contacts, the two at shop.test tagged vip, every second with a plan."""
    user = create_user()
    with in_tenant(user.tenant_id):
        vip = make_tag(name="vip")
        for n, email in enumerate(["ana@shop.test", "BOB@Shop.Test", "cid@corp.test", None]):
            contact = make_contact(name=f"Person {n}", email=email, custom_fields={"plan": "gold"} if n % 2 else {})
            if n < 2:
                link(contact, vip)
        return user.tenant_id, vip.id


def _index_walks_switched(app, work) -> list[str]:
    """The values `work` set enable_indexscan to (PostgreSQL sends them as set_config parameters)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "set_config" in statement and "enable_indexscan" in str(parameters):
            seen.extend(str(v) for v in (parameters or {}).values() if v in ("on", "off"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_text_search_count_reads_the_trigram_indexes_and_counts_the_same(app, workspace, in_tenant):
    tenant_id, vip_id = workspace
    search = flt({"op": "email_contains", "text": "shop.TEST"}, {"op": "custom_set", "key": "plan"})
    tagged = flt({"op": "email_contains", "text": "shop.test"}, {"op": "tags_any", "tags": [vip_id]})
    with in_tenant(tenant_id):
        postgresql = db.engine.dialect.name == "postgresql"
        assert count_matching(search) == (1, 1)  # BOB@Shop.Test, the one of the two with a plan
        assert count_matching(tagged) == (2, 2)
        # Switched off for the count, then back as it was (nothing is sent on SQLite).
        switched = _index_walks_switched(app, lambda: count_matching(search))
        assert switched == (["off", "on"] if postgresql else [])
        assert _index_walks_switched(app, lambda: count_matching(tagged)) == []
        # The preview's first ten are planned as usual: the switch is back when they are read.
        shown = preview(search)
        assert (shown.total, [c.email for c in shown.contacts]) == (1, ["BOB@Shop.Test"])
        if postgresql:
            assert db.session.scalar(select(func.current_setting("enable_indexscan"))) == "on"
