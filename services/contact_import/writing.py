"""A chunk of clean rows into the database in a few set-based statements: contacts, tags, tag links, refusals.

No ORM object per row: each statement sends the whole chunk (INSERT … ON CONFLICT with RETURNING), the tenant
stamped by hand as in services.upsert, because Core statements bypass the ORM's tenant stamping. On PostgreSQL
the chunk travels as one array per column and `unnest()` turns them back into rows: one short statement instead
of thousands of placeholders, which the driver would otherwise spend longer rewriting than the server inserting.
"""
from __future__ import annotations

import json

from sqlalchemy import JSON, String, any_, bindparam, case, cast, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from extensions import db
from models import Contact, ContactTag, Tag
from models.base import utcnow
from models.contact_import import ImportRowError
from models.tenancy import current_tenant_id
from services.contact_import.rows import Clean
from services.upsert import insert_ignoring_conflicts

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def existing_phones(phones: list[str]) -> dict[str, int]:
    """Phone -> contact id for those of `phones` already in the workspace."""
    if not phones:
        return {}
    if _dialect() == "postgresql":
        chosen = Contact.phone == any_(bindparam("phones", phones, type_=ARRAY(String)))
    else:
        chosen = Contact.phone.in_(phones)
    return dict(db.session.execute(select(Contact.phone, Contact.id).where(chosen)).all())


def _contact_values(row: Clean, tenant_id: int, now) -> dict:
    return {"tenant_id": tenant_id, "name": row.name, "phone": row.phone, "email": row.email,
            "custom_fields": row.custom_fields, "opted_out": False, "conversation_status": "open",
            "created_at": now, "updated_at": now}


def _merged_custom_fields(table, excluded):
    """The contact's custom fields with the row's laid over them (keys the file does not have stay)."""
    if _dialect() == "postgresql":
        return cast(cast(table.c.custom_fields, JSONB).op("||")(cast(excluded.custom_fields, JSONB)), JSON)
    return func.json_patch(table.c.custom_fields, excluded.custom_fields)


def write_contacts(rows: list[Clean], *, update: bool) -> dict[str, int]:
    """Insert `rows` (updating contacts with the same phone when `update`); phone -> contact id of those written.

    With `update` off, a phone that became a contact meanwhile is left alone and missing from the answer.
    """
    if not rows:
        return {}
    if _dialect() == "postgresql":
        return _write_contacts_postgresql(rows, update=update)
    table, tenant_id, now = Contact.__table__, current_tenant_id(), utcnow()
    stmt = _DIALECT_INSERT[_dialect()](table)
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
    result = db.session.execute(stmt, [_contact_values(row, tenant_id, now) for row in rows])
    return dict(result.all())


_PG_CONTACTS = """
INSERT INTO contacts AS c (tenant_id, name, phone, email, custom_fields, opted_out, conversation_status, created_at,
                           updated_at)
SELECT :tenant_id, r.name, r.phone, r.email, r.custom_fields::json, false, 'open', :now, :now
FROM unnest(CAST(:names AS text[]), CAST(:phones AS text[]), CAST(:emails AS text[]), CAST(:fields AS text[]))
     AS r (name, phone, email, custom_fields)
"""
# The same rules as the portable statement above: no name of its own keeps the contact's, fields are merged.
_PG_UPDATE = """
ON CONFLICT (tenant_id, phone) DO UPDATE SET
  name = CASE WHEN excluded.name = excluded.phone THEN c.name ELSE excluded.name END,
  email = coalesce(excluded.email, c.email),
  custom_fields = (c.custom_fields::jsonb || excluded.custom_fields::jsonb)::json,
  updated_at = excluded.updated_at
RETURNING c.phone, c.id
"""
_PG_SKIP = " ON CONFLICT (tenant_id, phone) DO NOTHING RETURNING c.phone, c.id"


def _write_contacts_postgresql(rows: list[Clean], *, update: bool) -> dict[str, int]:
    params = {"tenant_id": current_tenant_id(), "now": utcnow(), "names": [r.name for r in rows],
              "phones": [r.phone for r in rows], "emails": [r.email for r in rows],
              "fields": [json.dumps(r.custom_fields) for r in rows]}
    return dict(db.session.execute(text(_PG_CONTACTS + (_PG_UPDATE if update else _PG_SKIP)), params).all())


def tag_ids_by_name(names: set[str]) -> dict[str, int]:
    """Tag name -> id, creating the tags the workspace does not have yet."""
    if not names:
        return {}
    insert_ignoring_conflicts(Tag, [{"name": name} for name in sorted(names)], conflict_columns=["tenant_id", "name"])
    return dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())


def link_tags(pairs: set[tuple[int, int]]) -> None:
    """Attach tags to contacts, (contact id, tag id) each; links already there stay as they are."""
    if pairs and _dialect() == "postgresql":
        contact_ids, tag_ids = zip(*sorted(pairs), strict=True)
        db.session.execute(text(
            "INSERT INTO contact_tags (tenant_id, contact_id, tag_id) SELECT :tenant_id, l.contact_id, l.tag_id "
            "FROM unnest(CAST(:contact_ids AS integer[]), CAST(:tag_ids AS integer[])) AS l (contact_id, tag_id) "
            "ON CONFLICT (tenant_id, contact_id, tag_id) DO NOTHING"),
            {"tenant_id": current_tenant_id(), "contact_ids": list(contact_ids), "tag_ids": list(tag_ids)})
        return
    rows = [{"contact_id": contact_id, "tag_id": tag_id} for contact_id, tag_id in sorted(pairs)]
    insert_ignoring_conflicts(ContactTag, rows, conflict_columns=["tenant_id", "contact_id", "tag_id"])


def write_refusals(import_id: int, refusals: list[tuple[int, str, str]]) -> None:
    """Record refused rows, (line, raw row, reason) each."""
    if not refusals:
        return
    tenant_id = current_tenant_id()
    if _dialect() == "postgresql":
        lines, raws, reasons = zip(*refusals, strict=True)
        db.session.execute(text(
            "INSERT INTO contact_import_errors (tenant_id, import_id, line, raw, reason) "
            "SELECT :tenant_id, :import_id, e.line, e.raw, e.reason "
            "FROM unnest(CAST(:lines AS integer[]), CAST(:raws AS text[]), CAST(:reasons AS text[])) "
            "AS e (line, raw, reason)"),
            {"tenant_id": tenant_id, "import_id": import_id, "lines": list(lines), "raws": list(raws),
             "reasons": list(reasons)})
        return
    db.session.execute(ImportRowError.__table__.insert(), [
        {"tenant_id": tenant_id, "import_id": import_id, "line": line, "raw": raw, "reason": reason}
        for line, raw, reason in refusals])


def valid_tag_ids(tag_ids: list[int]) -> list[int]:
    """Those of `tag_ids` that are the workspace's tags."""
    if not tag_ids:
        return []
    return list(db.session.scalars(select(Tag.id).where(Tag.id.in_(tag_ids))))

