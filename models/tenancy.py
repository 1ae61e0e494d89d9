"""Tenant scoping: one mechanism, fail closed.

Every ORM SELECT, UPDATE and DELETE that touches a `TenantScoped` table is limited to the
tenant in context; with no tenant in context such a statement raises instead of returning
every tenant's rows. New objects are stamped with the current tenant, and an object that
carries another tenant's id is refused at flush.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import ForeignKey, Integer, Table, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria
from sqlalchemy.sql import visitors

from extensions import db

T = TypeVar("T")
_current_tenant: ContextVar[int | None] = ContextVar("messagehub_tenant", default=None)
_unscoped: ContextVar[bool] = ContextVar("messagehub_unscoped", default=False)

# Names of tables owned by a tenant, filled as TenantScoped models are declared.
TENANT_TABLES: set[str] = set()


class TenantScopeError(RuntimeError):
    """A tenant-owned table was touched without a tenant in context, or across tenants."""


class TenantScoped:
    """Marker mixin for tenant-owned models: adds `tenant_id` and `UNIQUE (tenant_id, id)`.

    Models add their own constraints in `__tenant_table_args__`; composite foreign keys
    `(tenant_id, parent_id)` let the database itself refuse a cross-tenant link.
    """

    __tenant_table_args__: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("__tablename__")
        if name:
            TENANT_TABLES.add(name)

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("tenant_id", "id"), *cls.__tenant_table_args__)


def current_tenant_id() -> int:
    """The tenant in context; raises when there is none (fail closed)."""
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise TenantScopeError("no tenant in context")
    return tenant_id


def current_tenant_id_or_none() -> int | None:
    """The tenant in context, or None (for code that renders differently when logged out)."""
    return _current_tenant.get()


@contextlib.contextmanager
def tenant_scope(tenant_id: int) -> Iterator[int]:
    """Run the block as `tenant_id`; the previous scope is restored afterwards."""
    if tenant_id is None:
        raise TenantScopeError("tenant_scope() needs a tenant id")
    token = _current_tenant.set(int(tenant_id))
    try:
        yield int(tenant_id)
    finally:
        _current_tenant.reset(token)


def is_unscoped() -> bool:
    """True inside an `unscoped()` block."""
    return _unscoped.get()


@contextlib.contextmanager
def unscoped() -> Iterator[None]:
    """Let the block read across tenants. Only admin code and this module may use it."""
    token = _unscoped.set(True)
    try:
        yield
    finally:
        _unscoped.reset(token)


def enter_tenant(tenant_id: int):
    """Enter a scope without a `with` block (request hooks); returns the token for `leave_tenant`."""
    return _current_tenant.set(int(tenant_id))


def leave_tenant(token) -> None:
    """Leave a scope entered with `enter_tenant`."""
    _current_tenant.reset(token)


def lookup_tenant_id(column, value) -> int | None:
    """The tenant owning the row where `column == value` (e.g. a webhook token digest), or None.

    The one sanctioned cross-tenant read outside admin code: it returns an id only, never a row,
    so callers must then enter `tenant_scope()` to load anything.
    """
    model = column.class_
    return db.session.scalar(
        select(model.tenant_id).where(column == value).execution_options(messagehub_unscoped=True)
    )


class TenantHints:
    """The tenant owning each digest (of a URL token, an API key) this process has served: a hint, never proof.

    `find` runs its loader in the hinted tenant's scope, so a request costs the loader's one statement while
    the hint holds. When that finds nothing (the row was deleted, its digest changed) the hint is dropped and
    the tenant looked up afresh by `lookup_tenant_id`. Only digests that found something are kept.
    """

    def __init__(self, column, limit: int = 10_000):
        self.column, self.limit = column, limit
        self._tenants: dict[str, int] = {}

    def find(self, digest: str, load: Callable[[], T | None]) -> T | None:
        """What `load()` gives in the scope of the tenant owning `digest`, or None when nothing is found."""
        tenant_id = self._tenants.get(digest)
        if tenant_id is not None:
            with tenant_scope(tenant_id):
                found = load()
            if found is not None:
                return found
            self._tenants.pop(digest, None)
        tenant_id = lookup_tenant_id(self.column, digest)
        if tenant_id is None:
            return None
        with tenant_scope(tenant_id):
            found = load()
        if found is not None:
            if len(self._tenants) >= self.limit:
                self._tenants.clear()
            self._tenants[digest] = tenant_id
        return found


def tenant_ids_where(model, *criteria) -> list[int]:
    """Distinct ids of tenants having rows of `model` matching `criteria` (for per-tenant sweeps)."""
    stmt = select(model.tenant_id).where(*criteria).distinct().execution_options(messagehub_unscoped=True)
    return list(db.session.scalars(stmt))


def each_tenant(model, *criteria) -> Iterator[int]:
    """For per-tenant sweeps: enter the scope of each tenant having rows of `model` matching `criteria`, in turn."""
    for tenant_id in tenant_ids_where(model, *criteria):
        with tenant_scope(tenant_id):
            yield tenant_id


def _tenant_tables_in(statement) -> set[str]:
    """Names of tenant tables anywhere in a statement (subqueries and joins included)."""
    found = set()
    for element in visitors.iterate(statement):
        if isinstance(element, Table) and element.name in TENANT_TABLES:
            found.add(element.name)
    return found


def releasing_savepoint(session) -> bool:
    """In an `after_commit` listener: True when a savepoint was released, not the transaction committed.

    SQLAlchemy fires `after_commit` (and `after_rollback`) for savepoints too; work that must wait for the
    real commit (enqueueing jobs, telling pollers) checks this first.
    """
    return session.in_nested_transaction()


def listen_once(target, name: str, fn) -> None:
    """Attach `fn` to `target`'s event `name` unless it is attached already (apps are built many times)."""
    if not event.contains(target, name, fn):
        event.listen(target, name, fn)


def init_app(app) -> None:
    """Enforce tenant scoping on the app's sessions, and foreign keys on its SQLite connections."""
    from extensions import AppSession

    listen_once(AppSession, "do_orm_execute", _scope_statement)
    listen_once(AppSession, "before_flush", _stamp_and_check)
    with app.app_context():
        for engine in db.engines.values():
            listen_once(engine, "connect", _sqlite_foreign_keys)


def _scope_statement(state) -> None:
    """Add `tenant_id = <current>` to every ORM statement on tenant models; refuse without a tenant."""
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if _unscoped.get() or state.execution_options.get("messagehub_unscoped"):
        return
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        if state.is_column_load or state.is_relationship_load:
            # Loads for an object already in the session inherit the criteria it was loaded with.
            return
        tables = _tenant_tables_in(state.statement)
        if tables:
            raise TenantScopeError(f"no tenant in context for a query on {', '.join(sorted(tables))}")
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _stamp_and_check(session: Session, _flush_context, _instances) -> None:
    """Stamp new tenant objects with the current tenant; refuse another tenant's objects."""
    if _unscoped.get():
        return
    tenant_id = _current_tenant.get()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantScopeError(f"no tenant in context to save {type(obj).__name__}")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise TenantScopeError(f"{type(obj).__name__} belongs to another tenant")
    for obj in session.deleted:
        if isinstance(obj, TenantScoped) and obj.tenant_id != tenant_id:
            raise TenantScopeError(f"cannot delete another tenant's {type(obj).__name__}")


def _sqlite_foreign_keys(dbapi_connection, _record):
    """SQLite ignores foreign keys unless asked; composite tenant keys depend on them."""
    if dbapi_connection.__class__.__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
