"""The cron schedule, loaded by `rq cron jobs.cron`."""
from rq import cron

from jobs.maintenance import record_heartbeat
from jobs.webhooks import requeue_stale_events

cron.register(record_heartbeat, queue_name="default", interval=60)
cron.register(requeue_stale_events, queue_name="default", interval=120)
