"""The cron schedule, loaded by `rq cron jobs.cron`."""
from rq import cron

from jobs.maintenance import record_heartbeat

cron.register(record_heartbeat, queue_name="default", interval=60)
