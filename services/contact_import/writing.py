"""A chunk of clean rows into the database in a few set-based statements: contacts, tags, tag links, refusals.

No ORM object per row: each statement sends the whole chunk (INSERT … ON CONFLICT with RETURNING), the tenant
stamped by hand as in services.upsert, because Core statements bypass the ORM's tenant stamping. On PostgreSQL
the chunk travels as one array per column and `unnest()` turns them back into rows: one short statement instead
of thousands of placeholders, which the driver would otherwise spend longer rewriting than the server inserting.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Integer, String, any_, bindparam, case, cast, column, false, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from extensions import db
from models import Contact, ContactTag, Tag
from models.base import utcnow
from models.contact_import import ImportRowError
from models.tenancy import current_tenant_id
from models.types import UTCDateTime
from services.contact_import.rows import Clean
from services.upsert import insert_ignoring_conflicts

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _insert(table):
    return _DIALECT_INSERT[db.session.get_bind().dialect.name](table)


def _unnest(**arrays: tuple[list, Any]):
    """PostgreSQL: the arrays (values, element type) side by side as rows of a table with those column names."""
    params = [bindparam(f"import_{name}", values, type_=ARRAY(kind)) for name, (values, kind) in arrays.items()]
    columns = (column(name, kind) for name, (_v, kind) in arrays.items())
    return func.unnest(*params).table_valued(*columns).render_derived(name="import_rows")


@contextmanager
def _planned_for_their_values() -> Iterator[None]:
    """PostgreSQL: plan the statements run inside for their values and the table as it is now.

    The driver prepares a statement it sees often, and PostgreSQL then keeps one generic plan for it. An
    import's first chunks run against a nearly empty table, so that plan scanned the whole workspace, and
    each later chunk's phone lookup grew with it (0.75 s a chunk at 60,000 contacts, against 3 ms planned
    afresh). Only that lookup needs it: set for the whole chunk, it also made PostgreSQL plan afresh every
    foreign-key check of the contact and tag-link inserts (three a link), which cost more than all the rest.
    """
    if not _postgresql():
        yield
        return
    previous = db.session.scalar(select(func.current_setting("plan_cache_mode")))
    db.session.execute(select(func.set_config("plan_cache_mode", "force_custom_plan", True)))
    yield
    db.session.execute(select(func.set_config("plan_cache_mode", previous, True)))


def existing_phones(phones: list[str]) -> dict[str, int]:
    """Phone -> contact id for those of `phones` already in the workspace."""
    if not phones:
        return {}
    if _postgresql():
        chosen = Contact.phone == any_(bindparam("phones", phones, type_=ARRAY(String)))
    else:
        chosen = Contact.phone.in_(phones)
    with _planned_for_their_values():
        return dict(db.session.execute(select(Contact.phone, Contact.id).where(chosen)).all())


def _merged_custom_fields(table, excluded):
    """The contact's custom fields with the row's laid over them (keys the file does not have stay)."""
    if _postgresql():
        return cast(cast(table.c.custom_fields, JSONB).op("||")(cast(excluded.custom_fields, JSONB)), JSON)
    return func.json_patch(table.c.custom_fields, excluded.custom_fields)


_CONTACT_COLUMNS = ["tenant_id", "name", "phone", "email", "custom_fields", "opted_out", "conversation_status",
                    "created_at", "updated_at"]


def _contacts_insert(rows: list[Clean], tenant_id: int, now):
    """The INSERT and its parameters: from unnested arrays on PostgreSQL, one parameter set per row elsewhere."""
    table = Contact.__table__
    if not _postgresql():
        return _insert(table), [{"tenant_id": tenant_id, "name": r.name, "phone": r.phone, "email": r.email,
                                 "custom_fields": r.custom_fields, "opted_out": False, "conversation_status": "open",
                                 "created_at": now, "updated_at": now} for r in rows]
    source = _unnest(name=([r.name for r in rows], String), phone=([r.phone for r in rows], String),
                     email=([r.email for r in rows], String),
                     fields=([json.dumps(r.custom_fields) for r in rows], String))
    at = literal(now, UTCDateTime())
    select_rows = select(literal(tenant_id), source.c.name, source.c.phone, source.c.email,
                         cast(source.c.fields, JSON), false(), literal("open"), at, at)
    return _insert(table).from_select(_CONTACT_COLUMNS, select_rows), None


def write_contacts(rows: list[Clean], *, update: bool) -> dict[str, int]:
    """Insert `rows` (updating contacts with the same phone when `update`); phone -> contact id of those written.

    With `update` off, a phone that became a contact meanwhile is left alone and missing from the answer.
    """
    if not rows:
        return {}
    table = Contact.__table__
    stmt, params = _contacts_insert(rows, current_tenant_id(), utcnow())
    if update:
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "phone"], set_={
            # A row without a name of its own was given its number as name: the contact keeps its name then.
            "name": case((excluded.name == excluded.phone, table.c.name), else_=excluded.name),
            "email": func.coalesce(excluded.email, table.c.email),
            "custom_fields": _merged_custom_fields(table, excluded),
            "updated_at": excluded.updated_at,
        })
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["tenant_id", "phone"])
    stmt = stmt.returning(table.c.phone, table.c.id)
    result = db.session.execute(stmt, params) if params is not None else db.session.execute(stmt)
    return dict(result.all())


def tag_ids_by_name(names: set[str]) -> dict[str, int]:
    """Tag name -> id, creating the tags the workspace does not have yet."""
    if not names:
        return {}
    insert_ignoring_conflicts(Tag, [{"name": name} for name in sorted(names)], conflict_columns=["tenant_id", "name"])
    return dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())


def tag_names(tag_ids: set[int]) -> dict[int, str]:
    """Tag id -> name, for the workspace's tags among `tag_ids`."""
    if not tag_ids:
        return {}
    return dict(db.session.execute(select(Tag.id, Tag.name).where(Tag.id.in_(tag_ids))).tuples().all())


def link_tags(pairs: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """Attach tags to contacts, (contact id, tag id) each; returns the links that are new (others stay)."""
    if not pairs:
        return []
    table = ContactTag.__table__
    if not _postgresql():
        rows = [{"tenant_id": current_tenant_id(), "contact_id": contact_id, "tag_id": tag_id}
                for contact_id, tag_id in sorted(pairs)]
        stmt = (_insert(table).on_conflict_do_nothing(index_elements=["tenant_id", "contact_id", "tag_id"])
                .returning(table.c.contact_id, table.c.tag_id))
        return [tuple(row) for row in db.session.execute(stmt, rows)]
    contact_ids, tag_ids = zip(*sorted(pairs), strict=True)
    source = _unnest(contact_id=(list(contact_ids), Integer), tag_id=(list(tag_ids), Integer))
    select_rows = select(literal(current_tenant_id()), source.c.contact_id, source.c.tag_id)
    return [tuple(row) for row in db.session.execute(
        _insert(table).from_select(["tenant_id", "contact_id", "tag_id"], select_rows)
        .on_conflict_do_nothing(index_elements=["tenant_id", "contact_id", "tag_id"])
        .returning(table.c.contact_id, table.c.tag_id))]


def write_refusals(import_id: int, refusals: list[tuple[int, str, str]]) -> None:
    """Record refused rows, (line, raw row, reason) each."""
    if not refusals:
        return
    tenant_id, table = current_tenant_id(), ImportRowError.__table__
    if not _postgresql():
        db.session.execute(table.insert(), [{"tenant_id": tenant_id, "import_id": import_id, "line": line,
                                             "raw": raw, "reason": reason} for line, raw, reason in refusals])
        return
    lines, raws, reasons = zip(*refusals, strict=True)
    source = _unnest(line=(list(lines), Integer), raw=(list(raws), String), reason=(list(reasons), String))
    select_rows = select(literal(tenant_id), literal(import_id), source.c.line, source.c.raw, source.c.reason)
    db.session.execute(table.insert().from_select(["tenant_id", "import_id", "line", "raw", "reason"], select_rows))


def valid_tag_ids(tag_ids: list[int]) -> list[int]:
    """Those of `tag_ids` that are the workspace's tags."""
    if not tag_ids:
        return []
    return list(db.session.scalars(select(Tag.id).where(Tag.id.in_(tag_ids))))
