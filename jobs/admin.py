"""Platform housekeeping: the usage rollup behind the admin tenants list, and unlinking idle devices."""
from __future__ import annotations

from extensions import db
from jobs.context import app_job
from services.admin.cleanup import unlink_inactive_devices
from services.admin.rollup import refresh_stats


@app_job
def refresh_tenant_stats() -> int:
    """Roll up every workspace's usage (every few minutes); returns how many workspaces were written."""
    count = refresh_stats()
    db.session.commit()
    return count


@app_job
def unlink_idle_devices() -> int:
    """Daily: log out and delete gateway instances idle for INACTIVE_LINK_DAYS; returns how many."""
    return unlink_inactive_devices()
