"""A chunk of clean rows into the database in a few set-based statements: contacts, tags, tag links, refusals.

No ORM object per row: each statement sends the whole chunk (INSERT … ON CONFLICT with RETURNING), the tenant
stamped by hand as in services.upsert, because Core statements bypass the ORM's tenant stamping. On PostgreSQL
the chunk travels as one JSON document and `json_to_recordset()` turns it back into rows: one short statement
instead of thousands of placeholders, which the driver would otherwise spend longer rewriting than the server
inserting. (Arrays, one a column, did the same, but the driver escapes every array element in Python, which
cost more than the whole JSON document, encoded in C.)
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Integer, String, bindparam, case, cast, column, false, func, literal, select, true
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


def _json_rows(rows: list[dict[str, Any]], **kinds: Any):
    """PostgreSQL: `rows` (dicts) as a table whose columns are `kinds`' names and types, sent as one JSON text."""
    document = cast(bindparam("import_rows", json.dumps(rows, ensure_ascii=False), type_=String), JSON)
    columns = (column(name, kind) for name, kind in kinds.items())
    return func.json_to_recordset(document).table_valued(*columns).render_derived(name="import_rows",
                                                                                   with_types=True)


def existing_phones(phones: list[str]) -> dict[str, int]:
    """Phone -> contact id for those of `phones` already in the workspace."""
    if not phones:
        return {}
    if not _postgresql():
        return dict(db.session.execute(select(Contact.phone, Contact.id).where(Contact.phone.in_(phones))).all())
    # One unique-index probe a phone, whatever the statistics say. As `phone = ANY(:phones)` PostgreSQL may
    # instead read all the workspace's contacts and test each against the whole list: it does when statistics
    # taken early in an import say the workspace has few contacts (0.75 s a chunk at 60,000 contacts, against
    # a few ms), and a generic plan of the prepared statement keeps that choice. LIMIT 1 (phones are unique
    # in a workspace) keeps the lookup a probe per phone rather than a join PostgreSQL could plan as a scan.
    wanted = (func.unnest(bindparam("phones", phones, type_=ARRAY(String))).table_valued(column("phone", String))
              .render_derived(name="wanted"))
    found = select(Contact.id).where(Contact.phone == wanted.c.phone).limit(1).lateral("found")
    return dict(db.session.execute(select(wanted.c.phone, found.c.id).join_from(wanted, found, true())).all())


def _merged_custom_fields(table, excluded):
    """The contact's custom fields with the row's laid over them (keys the file does not have stay)."""
    if _postgresql():
        return cast(cast(table.c.custom_fields, JSONB).op("||")(cast(excluded.custom_fields, JSONB)), JSON)
    return func.json_patch(table.c.custom_fields, excluded.custom_fields)


_CONTACT_COLUMNS = ["tenant_id", "name", "phone", "email", "custom_fields", "opted_out", "conversation_status",
                    "created_at", "updated_at"]


def _contacts_insert(rows: list[Clean], tenant_id: int, now):
    """The INSERT and its parameters: from one JSON document on PostgreSQL, one parameter set per row elsewhere."""
    table = Contact.__table__
    if not _postgresql():
        return _insert(table), [{"tenant_id": tenant_id, "name": r.name, "phone": r.phone, "email": r.email,
                                 "custom_fields": r.custom_fields, "opted_out": False, "conversation_status": "open",
                                 "created_at": now, "updated_at": now} for r in rows]
    source = _json_rows([{"name": r.name, "phone": r.phone, "email": r.email, "fields": r.custom_fields}
                         for r in rows], name=String, phone=String, email=String, fields=JSON)
    at = literal(now, UTCDateTime())
    select_rows = select(literal(tenant_id), source.c.name, source.c.phone, source.c.email, source.c.fields,
                         false(), literal("open"), at, at)
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


def link_tags(pairs: set[tuple[int, int]], *, fresh: bool = False) -> list[tuple[int, int]]:
    """Attach tags to contacts, (contact id, tag id) each; returns the links that are new (others stay), in order.

    `fresh` says every contact was created in this transaction: none can have a link yet (nor can another
    transaction add one before this commits), so the rows go in without a conflict check and all are new.
    """
    if not pairs:
        return []
    ordered = sorted(pairs)
    table = ContactTag.__table__
    tenant_id = current_tenant_id()
    if _postgresql():
        source = _json_rows([{"contact_id": contact_id, "tag_id": tag_id} for contact_id, tag_id in ordered],
                            contact_id=Integer, tag_id=Integer)
        stmt = _insert(table).from_select(["tenant_id", "contact_id", "tag_id"],
                                          select(literal(tenant_id), source.c.contact_id, source.c.tag_id))
        rows = None
    else:
        stmt = _insert(table)
        rows = [{"tenant_id": tenant_id, "contact_id": contact_id, "tag_id": tag_id} for contact_id, tag_id in ordered]
    if fresh:
        db.session.execute(stmt, rows)
        return ordered
    stmt = (stmt.on_conflict_do_nothing(index_elements=["tenant_id", "contact_id", "tag_id"])
            .returning(table.c.contact_id, table.c.tag_id))
    return sorted(tuple(row) for row in db.session.execute(stmt, rows))


def write_refusals(import_id: int, refusals: list[tuple[int, str, str]]) -> None:
    """Record refused rows, (line, raw row, reason) each."""
    if not refusals:
        return
    tenant_id, table = current_tenant_id(), ImportRowError.__table__
    if not _postgresql():
        db.session.execute(table.insert(), [{"tenant_id": tenant_id, "import_id": import_id, "line": line,
                                             "raw": raw, "reason": reason} for line, raw, reason in refusals])
        return
    source = _json_rows([{"line": line, "raw": raw, "reason": reason} for line, raw, reason in refusals],
                        line=Integer, raw=String, reason=String)
    select_rows = select(literal(tenant_id), literal(import_id), source.c.line, source.c.raw, source.c.reason)
    db.session.execute(table.insert().from_select(["tenant_id", "import_id", "line", "raw", "reason"], select_rows))


def valid_tag_ids(tag_ids: list[int]) -> list[int]:
    """Those of `tag_ids` that are the workspace's tags."""
    if not tag_ids:
        return []
    return list(db.session.scalars(select(Tag.id).where(Tag.id.in_(tag_ids))))
