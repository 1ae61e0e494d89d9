"""PostgreSQL row-level security: the database's own lock behind the ORM tenant scope.

Every tenant table carries a policy (migration 0004) admitting only rows whose tenant_id
equals the transaction's `app.tenant_id`, or any row while `app.unscoped` is on (admin code
and the id-only lookups of models.tenancy). Before each statement on PostgreSQL the connection's
settings are brought in line with the tenant ContextVar, once per transaction and value.
The policies bind only roles that neither own the tables nor are superusers: run the app as
such a role and migrations as the owner.
"""
from __future__ import annotations

from extensions import db
from models.tenancy import current_tenant_id_or_none, is_unscoped, listen_once

_STATE = "messagehub.rls"


def init_app(app) -> None:
    """Keep each PostgreSQL transaction's tenant settings in line with the tenant in context."""
    with app.app_context():
        engines = [e for e in db.engines.values() if e.dialect.name == "postgresql"]
    for engine in engines:
        listen_once(engine, "before_cursor_execute", _apply_tenant_settings)
        for name in ("commit", "rollback", "begin"):
            listen_once(engine, name, _forget)


def _apply_tenant_settings(conn, cursor, statement, parameters, context, executemany):
    """Make the transaction's settings match the tenant in context before the statement runs."""
    if conn.dialect.name != "postgresql":
        return
    unscoped = is_unscoped() or bool(context is not None and context.execution_options.get("messagehub_unscoped"))
    tenant = current_tenant_id_or_none()
    wanted = ("" if tenant is None else str(tenant), "on" if unscoped else "off")
    if conn.info.get(_STATE) == wanted:
        return
    # A server-side cursor (yield_per, stream_results) only DECLAREs its statement, so a SELECT run on it would
    # never be evaluated: the settings then go through a plain cursor of the same connection and transaction.
    plain = conn.connection.cursor() if getattr(cursor, "name", None) else cursor
    # Local to the transaction: a pooled connection never carries one tenant's setting into the next use.
    plain.execute("SELECT set_config('app.tenant_id', %s, true), set_config('app.unscoped', %s, true)", wanted)
    if plain is not cursor:
        plain.close()
    conn.info[_STATE] = wanted


def _forget(conn, *args) -> None:
    conn.info.pop(_STATE, None)

