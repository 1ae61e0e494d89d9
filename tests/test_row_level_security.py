"""PostgreSQL row-level security: with the ORM guard out of the way, the database still isolates tenants."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from extensions import db
from models.tenancy import TENANT_TABLES, tenant_scope, unscoped
from tests.factories import make_contact


@pytest.fixture
def two_tenants(pg, create_user, in_tenant):
    a, b = create_user(), create_user()
    for user, count in ((a, 2), (b, 3)):
        with in_tenant(user.tenant_id):
            for _ in range(count):
                make_contact()
    return a.tenant_id, b.tenant_id


def raw_count(table: str = "contacts") -> int:
    # Raw SQL: the ORM listener adds nothing here, only the database's policy applies.
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_the_app_role_is_bound_by_policies(pg):
    with pg.app_context():
        row = db.session.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        assert row == (False, False)
        owners = set(db.session.execute(text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
        assert db.session.execute(text("SELECT current_user")).scalar_one() not in owners


def test_every_tenant_table_has_the_policy(pg):
    with pg.app_context():
        rows = db.session.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE c.relrowsecurity AND p.policyname = 'tenant_isolation'")).scalars()
        assert TENANT_TABLES <= set(rows)


def test_raw_sql_sees_only_the_tenant_in_context(pg, two_tenants):
    a, b = two_tenants
    with pg.app_context():
        with tenant_scope(a):
            assert raw_count() == 2
        with tenant_scope(b):
            assert raw_count() == 3
        with unscoped():
            assert raw_count() == 5


def test_no_tenant_sees_no_rows(pg, two_tenants):
    with pg.app_context():
        assert raw_count() == 0


def test_writing_another_tenants_row_is_refused(pg, two_tenants):
    a, b = two_tenants
    with pg.app_context(), tenant_scope(a):
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(text(
                "INSERT INTO contacts (tenant_id, name, phone, custom_fields, opted_out, created_at, updated_at) "
                "VALUES (:t, 'Smuggled', '+14155550999', '{}', false, now(), now())"), {"t": b})
        db.session.rollback()
        # Updating or deleting across tenants silently touches nothing.
        assert db.session.execute(text("UPDATE contacts SET name = 'x' WHERE tenant_id = :t"), {"t": b}).rowcount == 0
        assert db.session.execute(text("DELETE FROM contacts WHERE tenant_id = :t"), {"t": b}).rowcount == 0
        db.session.commit()
    with pg.app_context(), tenant_scope(b):
        assert raw_count() == 3


def test_settings_do_not_leak_between_transactions(pg, two_tenants):
    a, _b = two_tenants
    with pg.app_context():
        with tenant_scope(a):
            assert raw_count() == 2
            db.session.commit()
        # Same pooled connection, next transaction, no tenant: nothing visible.
        assert raw_count() == 0
