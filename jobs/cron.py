"""The cron schedule, run by `python -m jobs.cron_runner jobs.cron` (see the Procfile)."""
from rq import cron

from jobs.admin import refresh_tenant_stats, unlink_idle_devices
from jobs.broadcasts import start_due_broadcasts, sweep_broadcasts
from jobs.contact_import import sweep_imports
from jobs.drips import send_due_steps
from jobs.events import requeue_stale_dispatches
from jobs.maintenance import record_heartbeat
from jobs.outbound_webhooks import sweep_deliveries
from jobs.retention import prune_history
from jobs.scheduling import queue_due_messages
from jobs.sending import reconcile_outbox
from jobs.templates import sync_all_templates
from jobs.webhooks import requeue_stale_events
from jobs.workflows import fire_daily_workflows, resume_due_runs

cron.register(record_heartbeat, queue_name="default", interval=60)
cron.register(requeue_stale_events, queue_name="default", interval=120)
cron.register(requeue_stale_dispatches, queue_name="default", interval=60)
cron.register(reconcile_outbox, queue_name="default", interval=60)
cron.register(queue_due_messages, queue_name="default", interval=60)
cron.register(prune_history, queue_name="default", cron="30 3 * * *")
cron.register(sync_all_templates, queue_name="default", cron="15 4 * * *")
cron.register(start_due_broadcasts, queue_name="default", interval=60)
cron.register(sweep_broadcasts, queue_name="default", interval=60)
cron.register(send_due_steps, queue_name="default", interval=60)
cron.register(refresh_tenant_stats, queue_name="default", interval=600)
cron.register(unlink_idle_devices, queue_name="default", cron="45 3 * * *")
cron.register(sweep_imports, queue_name="default", interval=60)
cron.register(sweep_deliveries, queue_name="default", interval=60)
cron.register(resume_due_runs, queue_name="default", interval=60)
cron.register(fire_daily_workflows, queue_name="default", interval=60)
