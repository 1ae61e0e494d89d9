"""Who a broadcast reaches: all contacts, contacts with any of some tags, or a segment; never the opted out.

Every function builds one SQL statement; the snapshot at start copies the audience into recipient rows
with a single INSERT … SELECT.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, literal, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite

from extensions import db
from models import Broadcast, BroadcastRecipient, Contact, ContactTag, Segment
from models.base import utcnow
from models.tenancy import current_tenant_id
from services.channels import capabilities_for
from services.errors import Invalid
from services.outbox import bulk_reachable
from services.outbox.rules import WINDOW
from services.segments import audience as segment_audience

KINDS = ("all", "tags", "segment")
_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def clean_audience(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored audience from form input; Invalid({"audience": ...}) when it names nothing usable."""
    kind = raw.get("kind") or "all"
    if kind not in KINDS:
        raise Invalid({"audience": "Choose who receives the broadcast."})
    if kind == "tags":
        tag_ids = sorted({int(t) for t in raw.get("tag_ids") or [] if str(t).isdigit()})
        if not tag_ids:
            raise Invalid({"tag_ids": "Choose at least one tag."})
        return {"kind": "tags", "tag_ids": tag_ids}
    if kind == "segment":
        segment_id = str(raw.get("segment_id") or "")
        if not segment_id.isdigit() or _segment(int(segment_id)) is None:
            raise Invalid({"segment_id": "Choose a segment."})
        return {"kind": "segment", "segment_id": int(segment_id)}
    return {"kind": "all"}


def _segment(segment_id: int | None) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.id == segment_id)) if segment_id else None


def contact_ids(audience: dict[str, Any]) -> Select:
    """SELECT of the ids of the reachable contacts the audience names, limited to the current tenant.

    The tenant is written into the statement (not only added by the ORM scope), so it holds inside an
    INSERT … SELECT too.
    """
    tenant_id = current_tenant_id()
    kind = audience.get("kind")
    if kind == "segment":
        segment = _segment(audience.get("segment_id"))
        if segment is None:
            raise Invalid({"segment_id": "The segment of this broadcast was deleted."})
        stmt = segment_audience(segment, for_bulk=True)
    else:
        stmt = select(Contact.id).where(bulk_reachable())
        if kind == "tags":
            tagged = select(ContactTag.contact_id).where(ContactTag.tenant_id == tenant_id,
                                                         ContactTag.tag_id.in_(audience.get("tag_ids") or []))
            stmt = stmt.where(Contact.id.in_(tagged))
    return stmt.where(Contact.tenant_id == tenant_id)


def window_criterion():
    """Contacts whose 24-hour customer-service window is open now."""
    return Contact.last_inbound_at > utcnow() - WINDOW


def counts(broadcast: Broadcast, channel) -> tuple[int, int]:
    """(contacts the broadcast reaches now, of them skipped because their window is closed) in one statement.

    Only a provider with a service window (Cloud API) limits free-form text to it; a template goes to all.
    """
    ids = contact_ids(broadcast.audience).subquery()
    limited = (not broadcast.template_name and channel is not None
               and capabilities_for(channel.kind).service_window)
    closed = case((or_(Contact.last_inbound_at.is_(None), ~window_criterion()), 1), else_=0) if limited else literal(0)
    total, skipped = db.session.execute(
        select(func.count(Contact.id), func.coalesce(func.sum(closed), 0))
        .where(Contact.id.in_(select(ids.c.id)))).one()
    return int(total), int(skipped)


def sample_contact(broadcast_audience: dict[str, Any]) -> Contact | None:
    """A contact of the audience to preview the message for (the first by id)."""
    try:
        stmt = contact_ids(broadcast_audience)
    except Invalid:
        return None
    return db.session.scalar(select(Contact).where(Contact.id.in_(stmt.order_by(None))).order_by(Contact.id).limit(1))


def snapshot(broadcast: Broadcast) -> None:
    """Copy the audience into recipient rows in one INSERT … SELECT (a contact already there is kept once)."""
    tenant_id = current_tenant_id()
    ids = contact_ids(broadcast.audience).subquery()
    # WHERE true: SQLite reads "SELECT … FROM t ON CONFLICT" as a join without it.
    source = (select(literal(tenant_id), literal(broadcast.id), ids.c.id, literal("queued"))
              .where(true()).order_by(ids.c.id))
    insert = _DIALECT_INSERT[db.session.get_bind().dialect.name]
    table = BroadcastRecipient.__table__
    stmt = (insert(table).from_select(["tenant_id", "broadcast_id", "contact_id", "state"], source)
            .on_conflict_do_nothing(index_elements=["tenant_id", "broadcast_id", "contact_id"]))
    db.session.execute(stmt)


__all__ = ["KINDS", "clean_audience", "contact_ids", "counts", "sample_contact", "snapshot", "window_criterion"]
