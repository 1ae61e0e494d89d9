"""What a platform admin does to a workspace: suspend, reinstate, force-disconnect, reset a password, set quotas.

Each writes the audit log in the workspace's own log (the workspace sees what support did), named after the
admin who did it. Functions flush; the view commits.
"""
from __future__ import annotations

from flask import url_for

from models import Tenant, User
from models.tenancy import tenant_scope
from services.audit import record
from services.channels import get_channel
from services.errors import Invalid
from services.linking import disconnect_channel
from services.password_reset import reset_token
from services.public_url import public_base_url
from services.webhook_events import process_backlog

QUOTA_MAX = 10_000_000


def suspend(tenant: Tenant) -> None:
    """Suspend: its people are logged out and cannot log in, webhooks wait unprocessed, sending stops."""
    if tenant.is_suspended:
        raise Invalid("This workspace is suspended already.")
    tenant.status = Tenant.SUSPENDED  # models.user ends every session of its users at flush
    record("admin.tenant_suspended", target=tenant, tenant_id=tenant.id)


def unsuspend(tenant: Tenant) -> None:
    """Reinstate: logging in works again and the webhooks stored meanwhile are processed (a drain is enqueued
    once the view commits; events whose retry was due are the stale-event sweep's again)."""
    if not tenant.is_suspended:
        raise Invalid("This workspace is not suspended.")
    tenant.status = Tenant.ACTIVE
    record("admin.tenant_unsuspended", target=tenant, tenant_id=tenant.id)
    process_backlog(tenant.id)


def force_disconnect(tenant: Tenant) -> str:
    """Unlink the workspace's WhatsApp through the linking service (gateway logout and delete; Cloud
    credentials dropped with the channel); returns the kind that was unlinked."""
    with tenant_scope(tenant.id):
        channel = get_channel()
        if channel is None:
            raise Invalid("This workspace has no WhatsApp linked.")
        kind = channel.kind
        disconnect_channel(channel)
        record("admin.whatsapp_disconnected", target=tenant, tenant_id=tenant.id, changes={"kind": kind})
    return kind


def password_reset_link(tenant: Tenant, user: User) -> str:
    """A one-time link (valid a day) for `user` of `tenant` to choose a new password."""
    if user.tenant_id != tenant.id:
        raise Invalid("That user belongs to another workspace.")
    record("admin.password_reset_link", target=user, tenant_id=tenant.id, changes={"email": user.email})
    return public_base_url() + url_for("auth.reset", token=reset_token(user))


def set_quotas(tenant: Tenant, contacts: int | None, messages_per_day: int | None) -> None:
    """The workspace's own quotas; None goes back to the install's default."""
    errors = {}
    for name, value in (("contacts", contacts), ("messages_per_day", messages_per_day)):
        if value is not None and not 0 <= value <= QUOTA_MAX:
            errors[name] = f"Choose between 0 and {QUOTA_MAX:,}, or leave it empty for the default."
    if errors:
        raise Invalid(errors)
    before = {"contacts": tenant.quota_contacts, "messages_per_day": tenant.quota_messages_per_day}
    tenant.quota_contacts, tenant.quota_messages_per_day = contacts, messages_per_day
    record("admin.quotas_set", target=tenant, tenant_id=tenant.id,
           changes={"before": before, "after": {"contacts": contacts, "messages_per_day": messages_per_day}})
