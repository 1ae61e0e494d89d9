"""Install-wide housekeeping jobs."""
from __future__ import annotations

import time

from extensions import get_redis
from jobs.context import app_job

HEARTBEAT_KEY = "messagehub:cron:heartbeat"


@app_job
def record_heartbeat() -> float:
    """Record that the cron scheduler and a worker are alive (queue health reads it)."""
    now = time.time()
    get_redis().set(HEARTBEAT_KEY, now)
    return now
