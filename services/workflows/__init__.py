"""Workflows: one trigger, optional conditions, ordered actions, run by jobs with a durable log.

- steps: the condition and action registries and how a step's settings are cleaned;
- trigger_kinds / conditions / actions: the kinds themselves;
- triggers: the domain-event consumer that starts runs (imported by jobs.events);
- runner: starting runs idempotently with loop prevention, and advancing them through waits;
- scheduled: the daily trigger; definitions: saving, enabling, presets; dryrun: the "test on a contact" view.
"""
from services.workflows import actions, conditions  # noqa: F401  (their kinds register themselves)
