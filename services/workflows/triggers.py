"""The consumer of domain events that starts workflow runs (registered when this module is imported)."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Workflow
from services import events
from services.workflows.runner import start_for_event
from services.workflows.trigger_kinds import DAILY, TRIGGERS

EVENT_KINDS = tuple(kind for kind in TRIGGERS if kind != DAILY)


def wants(kind: str) -> bool:
    """Whether an enabled workflow of the workspace starts on events of `kind`."""
    return db.session.scalar(select(Workflow.id).where(Workflow.enabled.is_(True), Workflow.trigger_kind == kind)
                             .limit(1)) is not None


@events.consumer(*EVENT_KINDS, wants=wants)
def on_event(event) -> None:
    """Create a durable run per matching workflow and queue its job; nothing is done inline (quick, idempotent)."""
    start_for_event(event)
