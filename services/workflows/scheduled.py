"""The daily trigger: at HH:MM in the workspace's zone, a run for each contact with the workflow's tag."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from extensions import db
from models import Contact, ContactTag, Workflow
from models.base import utcnow
from services.workflows.runner import start_run
from services.workflows.steps import TIME
from services.workflows.trigger_kinds import DAILY
from services.workspace import workspace_zone


def due_daily(now: datetime) -> list[Workflow]:
    """The current workspace's enabled daily workflows whose time has come today and that have not fired today."""
    local = now.astimezone(workspace_zone())
    due = []
    for workflow in db.session.scalars(select(Workflow).where(Workflow.enabled.is_(True),
                                                              Workflow.trigger_kind == DAILY)):
        found = TIME.match(str((workflow.trigger_config or {}).get("time", "")))
        if found and workflow.daily_done_on != local.date() and \
                (local.hour, local.minute) >= (int(found.group(1)), int(found.group(2))):
            due.append(workflow)
    return due


def fire_daily(now: datetime | None = None) -> int:
    """Start today's runs of the workspace's due daily workflows (flushes; the caller commits); returns how many.

    Each run's key is the local date and the contact, so a sweep repeated after a crash starts nobody twice.
    """
    now = now or utcnow()
    day = now.astimezone(workspace_zone()).date()
    started = 0
    for workflow in due_daily(now):
        tagged = select(ContactTag.contact_id).where(ContactTag.tag_id == (workflow.trigger_config or {}).get("tag_id"))
        for contact_id in db.session.scalars(select(Contact.id).where(Contact.id.in_(tagged)).order_by(Contact.id)):
            run = start_run(workflow, contact_id, f"daily:{day.isoformat()}:{contact_id}",
                            f"daily at {workflow.trigger_config['time']} ({day.isoformat()})", now=now)
            started += run is not None
        workflow.daily_done_on = day
    db.session.flush()
    return started
