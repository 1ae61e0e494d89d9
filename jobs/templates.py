"""Daily template sync for every Cloud API tenant."""
from __future__ import annotations

import logging

from core.enums import ConnectionState
from extensions import db
from jobs.context import app_job, tenant_job
from models import Channel
from models.tenancy import tenant_ids_where
from services.channels import capabilities_for, get_channel, kinds_with
from services.templates import sync_templates
from whatsapp.base import ProviderError

log = logging.getLogger(__name__)


@tenant_job
def sync_tenant_templates(tenant_id: int) -> dict[str, int] | None:
    """Mirror one tenant's templates; provider errors are logged and retried tomorrow."""
    channel = get_channel()
    if channel is None or not capabilities_for(channel.kind).template_sync or not channel.is_connected:
        return None
    try:
        counts = sync_templates(channel)
    except ProviderError as exc:
        log.warning("template sync failed for tenant %s: %s", tenant_id, exc)
        db.session.rollback()
        return None
    db.session.commit()
    return counts


@app_job
def sync_all_templates() -> int:
    """Sync every connected Cloud API tenant (one tenant's failure does not stop the others)."""
    tenants = tenant_ids_where(Channel, Channel.kind.in_(kinds_with("template_sync")),
                               Channel.state == ConnectionState.CONNECTED)
    for tenant_id in tenants:
        sync_tenant_templates(tenant_id)
    return len(tenants)
