"""PostgreSQL side of the contacts list at scale: the tenant policy is read once per statement, still isolates,
and searches have workspace-leading trigram indexes."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from extensions import db
from models.tenancy import tenant_scope
from services.text_search import trigram_lookups
from tests.factories import link, make_contact, make_tag

TABLES = ("contacts", "contact_tags", "tags")


@pytest.fixture
def two_tenants(pg, create_user, in_tenant):
    """Two workspaces, each with tagged contacts: 2 in the first, 3 in the second."""
    ids = []
    for count in (2, 3):
        user = create_user()
        with in_tenant(user.tenant_id):
            tag = make_tag()
            for _ in range(count):
                link(make_contact(), tag)
        ids.append(user.tenant_id)
    return ids


@pytest.mark.parametrize("table", TABLES)
def test_the_policy_reads_the_tenant_setting_once_per_statement(pg, two_tenants, table):
    a, _b = two_tenants
    with pg.app_context(), tenant_scope(a):
        plan = "\n".join(db.session.execute(text(f"EXPLAIN SELECT count(*) FROM {table}")).scalars())
    # An InitPlan runs once; current_setting() inside a per-row Filter would run for every row read.
    assert "InitPlan" in plan
    assert "current_setting" not in plan


@pytest.mark.parametrize("table, counts", [("contacts", (2, 3)), ("contact_tags", (2, 3)), ("tags", (1, 1))])
def test_the_policy_still_admits_only_the_tenant_in_context(pg, two_tenants, table, counts):
    with pg.app_context():
        for tenant_id, expected in zip(two_tenants, counts, strict=True):
            with tenant_scope(tenant_id):
                # Raw SQL: the ORM adds no tenant criteria, only the policy applies.
                assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == expected
            db.session.rollback()
        assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def test_search_indexes_lead_with_the_workspace(pg):
    with pg.app_context():
        rows = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'contacts' AND indexdef LIKE '%gin_trgm_ops%'")).tuples().all())
    assert set(rows) == {"ix_contacts_tenant_name_trgm", "ix_contacts_tenant_phone_trgm",
                         "ix_contacts_tenant_email_trgm"}
    assert all("gin (tenant_id, " in definition for definition in rows.values())


def test_trigram_lookups_switch_index_walks_off_only_inside_the_block(pg, two_tenants):
    def setting():
        return db.session.execute(text("SELECT current_setting('enable_indexscan')")).scalar_one()

    with pg.app_context(), tenant_scope(two_tenants[0]):
        assert setting() == "on"
        with trigram_lookups():
            assert setting() == "off"
        assert setting() == "on"
