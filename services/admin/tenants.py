"""The admin tenants list and a tenant's page: read across workspaces from the rollup, never secrets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

from extensions import db
from models import Channel, Message, Tenant, TenantStats, User, WebhookEvent
from models.tenancy import tenant_scope, unscoped
from services.text_search import ESCAPE, contains_pattern

PER_PAGE = 50
SORTS = {
    "name": Tenant.name,
    "created": Tenant.created_at,
    "sent_30d": TenantStats.sent_30d,
    "received_30d": TenantStats.received_30d,
    "contacts": TenantStats.contacts,
    "activity": TenantStats.last_activity_at,
}


@dataclass(frozen=True)
class TenantPage:
    """One page of the tenants list."""

    rows: list[Any]
    page: int
    has_next: bool
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _owner_email():
    # The workspace's first user is its owner (sign-up creates it with the tenant).
    return (select(User.email).where(User.tenant_id == Tenant.id).order_by(User.id).limit(1)
            .correlate(Tenant).scalar_subquery())


def list_tenants(query: str = "", sort: str = "created", descending: bool = True, page: int = 1,
                 per_page: int = PER_PAGE) -> TenantPage:
    """A page of workspaces with their owner, link and rolled-up usage; searched by name or any user's email.

    Two steps: the page's ids from a lean query (tenants alone, joined to the rollup only when sorting by it),
    then owner, link and figures for those ids only, so the joins never run over every workspace.
    """
    column = SORTS.get(sort, Tenant.created_at)
    order = column.desc().nulls_last() if descending else column.asc().nulls_first()
    ids = select(Tenant.id)
    if column.class_ is TenantStats:
        ids = ids.outerjoin(TenantStats, TenantStats.tenant_id == Tenant.id)
    count = select(func.count(Tenant.id))
    if query.strip():
        pattern = contains_pattern(query.strip().lower())
        # One pass over users (a semi-join), not one probe per workspace.
        by_email = select(User.tenant_id).where(func.lower(User.email).like(pattern, escape=ESCAPE))
        condition = or_(func.lower(Tenant.name).like(pattern, escape=ESCAPE), Tenant.id.in_(by_email))
        ids, count = ids.where(condition), count.where(condition)
    page = max(1, page)
    with unscoped():
        page_ids = list(db.session.scalars(ids.order_by(order, Tenant.id.desc()).limit(per_page + 1)
                                           .offset((page - 1) * per_page)))
        total = db.session.scalar(count) or 0
        shown = page_ids[:per_page]
        rows = db.session.execute(
            select(Tenant, _owner_email().label("owner_email"), Channel.kind, Channel.state, TenantStats)
            .outerjoin(Channel, Channel.tenant_id == Tenant.id)
            .outerjoin(TenantStats, TenantStats.tenant_id == Tenant.id)
            .where(Tenant.id.in_(shown))).all() if shown else []
    position = {tenant_id: n for n, tenant_id in enumerate(shown)}
    rows.sort(key=lambda row: position[row[0].id])
    return TenantPage(rows=rows, page=page, has_next=len(page_ids) > per_page, total=total)


def get_tenant(tenant_id: int) -> Tenant | None:
    """The workspace by id (tenants are not tenant-scoped rows)."""
    return db.session.get(Tenant, tenant_id)


def tenant_users(tenant_id: int) -> list[User]:
    """The workspace's users, oldest first."""
    return list(db.session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.id)))


def link_details(tenant_id: int) -> dict[str, Any] | None:
    """What an admin may see of the workspace's WhatsApp link: kind, state, numbers and names, never a secret."""
    with tenant_scope(tenant_id):
        channel = db.session.scalar(select(Channel))
        if channel is None:
            return None
        return {"kind": channel.kind, "state": channel.state, "detail": channel.state_detail,
                "phone_number": channel.phone_number, "profile_name": channel.profile_name,
                "phone_number_id": channel.phone_number_id, "waba_id": channel.waba_id,
                "verified_name": channel.verified_name, "quality_rating": channel.quality_rating,
                "paused_at": channel.paused_at,
                "paused_reason": channel.paused_reason, "last_activity_at": channel.last_activity_at,
                "state_changed_at": channel.state_changed_at}


def recent_errors(tenant_id: int, limit: int = 10) -> dict[str, list]:
    """Failed messages and webhook deliveries that could not be processed, newest first."""
    with tenant_scope(tenant_id):
        failed = db.session.execute(
            select(Message.id, Message.created_at, Message.error_code, Message.error_title)
            .where(Message.status == "failed").order_by(Message.id.desc()).limit(limit)).all()
        webhooks = db.session.execute(
            select(WebhookEvent.id, WebhookEvent.received_at, WebhookEvent.attempts, WebhookEvent.error)
            .where(WebhookEvent.error.is_not(None)).order_by(WebhookEvent.id.desc()).limit(limit)).all()
    return {"messages": failed, "webhooks": webhooks}


def stats_for(tenant_id: int) -> TenantStats | None:
    """The workspace's rolled-up figures (None before the first rollup)."""
    with unscoped():
        return db.session.scalar(select(TenantStats).where(TenantStats.tenant_id == tenant_id))


def quota_defaults() -> dict[str, int]:
    """The install's default quotas, shown beside a workspace's own."""
    return {"contacts": current_app.config["QUOTA_CONTACTS"],
            "messages_per_day": current_app.config["QUOTA_MESSAGES_PER_DAY"]}
