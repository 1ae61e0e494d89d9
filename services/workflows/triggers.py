"""The consumer of domain events that starts workflow runs (registered when this module is imported)."""
from __future__ import annotations

from services import events
from services.workflows.runner import start_for_event
from services.workflows.trigger_kinds import DAILY, TRIGGERS

EVENT_KINDS = tuple(kind for kind in TRIGGERS if kind != DAILY)


@events.consumer(*EVENT_KINDS)
def on_event(event) -> None:
    """Create a durable run per matching workflow and queue its job; nothing is done inline (quick, idempotent)."""
    start_for_event(event)
