"""INSERT … ON CONFLICT DO NOTHING for the tenant in context, on PostgreSQL and SQLite alike."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from extensions import db
from models.tenancy import current_tenant_id

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_ignoring_conflicts(model, rows: list[dict], *, conflict_columns: list[str],
                              returning=None) -> list:
    """Insert `rows` into `model`'s table for the current tenant, skipping rows that already exist.

    Rows skip the ORM (it cannot express ON CONFLICT), so defaults come from the columns and the
    tenant is stamped here; a concurrent insert of the same key waits instead of failing. With
    `returning` (a column), returns that column of the rows actually inserted.
    """
    if not rows:
        return []
    tenant_id = current_tenant_id()
    insert = _DIALECT_INSERT[db.session.get_bind().dialect.name]
    stmt = insert(model.__table__).on_conflict_do_nothing(index_elements=conflict_columns)
    stamped = [{**row, "tenant_id": tenant_id} for row in rows]
    if returning is None:
        db.session.execute(stmt, stamped)
        return []
    return list(db.session.scalars(stmt.returning(returning), stamped))
