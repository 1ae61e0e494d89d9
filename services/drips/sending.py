"""The due sweep's batch: claim due enrolments, queue each one's step through the outbox, plan the next.

One transaction per batch: the enrolments are claimed with `FOR UPDATE SKIP LOCKED` (another sweep
skips them instead of waiting; SQLite writes one transaction at a time and ignores the clause), their
step sends and messages are inserted together, and each enrolment moves on to its next step. A worker
killed mid-batch rolls all of it back; `UNIQUE (enrolment_id, step_id)` refuses a second send anyway.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from core.enums import MessageOrigin
from extensions import db
from models import Contact, DripEnrolment, DripSequence, DripStep, DripStepSend
from models.base import utcnow
from models.drip import EnrolmentState
from models.tenancy import current_tenant_id
from services.broadcasts.content import find_template, render_for
from services.channels import capabilities_for, get_channel
from services.drips.completion import announce_completed
from services.drips.exits import OPTED_OUT
from services.drips.sequences import sent_step_ids
from services.drips.timing import plan
from services.outbox import SendRefused, ensure_can_send
from services.outbox.enqueue import insert_queued
from services.outbox.rules import ensure_window
from services.workspace import workspace_zone

BATCH = 200            # enrolments per workspace per round: what keeps the sweep fair between workspaces
WAIT_FOR_CHANNEL = timedelta(minutes=5)


def channel_problem(channel) -> str | None:
    """Why nothing can be sent on the workspace's channel now (the steps wait), or None."""
    if channel is None:
        return "Waiting: link a WhatsApp number in Settings › WhatsApp."
    if channel.paused_at is not None:
        return f"Waiting: sending is paused ({channel.paused_reason})."
    if not channel.is_connected:
        return "Waiting: WhatsApp is not connected."
    return None


def due_criteria(now: datetime) -> tuple:
    """What the sweep looks for across workspaces (served by the index on next_step_at)."""
    return DripEnrolment.next_step_at <= now, DripEnrolment.state == EnrolmentState.ACTIVE


def _claim(now: datetime, limit: int) -> list[DripEnrolment]:
    return list(db.session.scalars(
        select(DripEnrolment).where(*due_criteria(now)).order_by(DripEnrolment.next_step_at, DripEnrolment.id)
        .limit(limit).with_for_update(skip_locked=True)))


def _steps_by_sequence(sequence_ids: set[int]) -> dict[int, list[DripStep]]:
    out: dict[int, list[DripStep]] = defaultdict(list)
    for step in db.session.scalars(select(DripStep).where(DripStep.sequence_id.in_(sequence_ids),
                                                          DripStep.removed_at.is_(None))
                                   .order_by(DripStep.sequence_id, DripStep.position, DripStep.id)):
        out[step.sequence_id].append(step)
    return out


def _refusal(contact: Contact, channel, step: DripStep, template) -> tuple[str | None, object]:
    """(why `contact` cannot get `step` now, or None; what it would receive)."""
    try:
        ensure_can_send(contact, channel, bulk=True)
        if step.is_template and not capabilities_for(channel.kind).templates:
            raise SendRefused("Templates are a Cloud API feature; the linked WhatsApp sends plain messages.")
        if not step.is_template:
            ensure_window(contact, channel)
    except SendRefused as exc:
        return str(exc), None
    rendered = render_for(step, contact, template)
    return rendered.refusal, rendered


def send_due(now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Queue the due steps of the current workspace, one bounded batch (flushes; the caller commits)."""
    now = now or utcnow()
    counts = {"queued": 0, "not_sent": 0, "stopped": 0, "completed": 0, "replanned": 0, "waiting": 0}
    enrolments = _claim(now, limit)
    if not enrolments:
        return counts
    channel = get_channel()
    problem = channel_problem(channel)
    if problem is not None:
        for enrolment in enrolments:  # nothing is consumed: the steps go once the channel is back
            enrolment.reason, enrolment.next_step_at = problem, now + WAIT_FOR_CHANNEL
        db.session.flush()
        counts["waiting"] = len(enrolments)
        return counts
    zone = workspace_zone()
    sequences = {s.id: s for s in db.session.scalars(
        select(DripSequence).where(DripSequence.id.in_({e.sequence_id for e in enrolments})))}
    steps = _steps_by_sequence(set(sequences))
    sent = sent_step_ids([e.id for e in enrolments])
    contacts = {c.id: c for c in db.session.scalars(
        select(Contact).where(Contact.id.in_({e.contact_id for e in enrolments})))}
    templates: dict[tuple, object] = {}
    rows, sends, refused, moved, completed = [], [], [], [], []
    for enrolment in enrolments:
        sequence, had = sequences[enrolment.sequence_id], sent.setdefault(enrolment.id, set())
        planned = enrolment.current_step_id
        step = plan(enrolment, sequence, steps[sequence.id], had, zone, now)
        if step is None:
            counts["completed"] += 1
            completed.append(enrolment)
            continue
        if step.id != planned and enrolment.next_step_at > now:
            counts["replanned"] += 1  # the sequence was edited since the plan: wait for the new time
            continue
        contact = contacts[enrolment.contact_id]
        if contact.opted_out:
            enrolment.state, enrolment.reason, enrolment.finished_at = EnrolmentState.STOPPED, OPTED_OUT, now
            enrolment.next_step_at = enrolment.current_step_id = None
            counts["stopped"] += 1
            continue
        key = (step.template_name, step.template_language)
        if step.is_template and key not in templates:
            templates[key] = find_template(step)
        reason, rendered = _refusal(contact, channel, step, templates.get(key))
        if reason is not None:
            refused.append((enrolment, step, reason))
        else:
            rows.append({"contact_id": contact.id, "type": rendered.type, "body": rendered.body,
                         "payload": rendered.payload})
            sends.append((enrolment, step))
        had.add(step.id)
        moved.append(enrolment)
    message_ids = insert_queued(channel, rows, origin=MessageOrigin.DRIP)
    tenant = {"tenant_id": current_tenant_id()}  # a bulk INSERT is not stamped by the session
    records = [{**tenant, "enrolment_id": e.id, "step_id": s.id, "message_id": m, "reason": None, "created_at": now}
               for (e, s), m in zip(sends, message_ids, strict=True)]
    records += [{**tenant, "enrolment_id": e.id, "step_id": s.id, "message_id": None, "reason": r, "created_at": now}
                for e, s, r in refused]
    if records:
        db.session.execute(insert(DripStepSend), records)
    positions = {s.id: n for seq in steps.values() for n, s in enumerate(seq, 1)}
    reasons = {e.id: f"Step {positions.get(s.id, '?')} not sent: {r}" for e, s, r in refused}
    for enrolment in moved:
        # The next step counts from now; the reason shows the last step that could not be sent, if any.
        enrolment.anchor_at, enrolment.reason = now, reasons.get(enrolment.id)
        plan(enrolment, sequences[enrolment.sequence_id], steps[enrolment.sequence_id], sent[enrolment.id], zone, now)
        if enrolment.state == EnrolmentState.COMPLETED:
            counts["completed"] += 1
            completed.append(enrolment)
    db.session.flush()
    announce_completed(completed)
    counts["queued"], counts["not_sent"] = len(sends), len(refused)
    return counts
