"""Scheduled messages: the rules for scheduling, editing and cancelling them, and queueing them when due.

The row is the truth. Scheduling enqueues a timed job for the due moment (precision), and a cron sweep
every minute queues whatever is due and still scheduled (Redis lost the job, no worker ran it). Either
way a row is claimed with a guarded UPDATE (`WHERE id = :id AND status = 'scheduled'`), so it reaches
the outbox at most once; the outbox then applies the rules of that moment (window, opt-out, channel).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from core.enums import MessageOrigin
from extensions import db
from models import Contact, MessageTemplate, ScheduledMessage
from models.base import utcnow
from models.scheduled_message import ScheduledStatus
from services.channels import capabilities_for, get_channel
from services.errors import Invalid
from services.outbox import TEXT_MAX, SendRefused, queue_template, queue_text, window_closes_at, window_open
from services.queueing import DEFAULT_QUEUE, enqueue_after_commit
from services.templates import TemplateInvalid, build_components
from services.workspace import workspace_zone

SEND_JOB = "jobs.scheduling.send_scheduled"
WINDOW_CLOSED = "the 24-hour window had closed; choose a template"
SWEEP_BATCH = 200


# --- time zones -------------------------------------------------------------------------------------------

def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` (naive) as an aware UTC datetime."""
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime as the naive wall-clock time in `zone`."""
    return moment.astimezone(zone).replace(tzinfo=None)


# --- what the forms need ----------------------------------------------------------------------------------

def text_window_note(contact: Contact, due_at: datetime | None) -> str | None:
    """Why a text scheduled for `due_at` would not be sent (the Cloud window closes before then), or None."""
    channel = get_channel()
    if channel is None or not capabilities_for(channel.kind).service_window:
        return None
    closes = window_closes_at(contact)
    if closes is None:
        return (f"{contact.name} has not written to you, so the 24-hour window is closed: a text will not be sent. "
                "Choose a template.")
    zone = workspace_zone()
    at = f"{to_local(closes, zone):%Y-%m-%d %H:%M} ({zone})"
    if closes <= utcnow():
        return (f"The 24-hour window closed at {at}: a text will not be sent unless the customer writes again. "
                "Choose a template.")
    if due_at is None:
        return (f"The 24-hour window closes at {at}: a text due later will not be sent unless the customer writes "
                "again; choose a template for a later time.")
    if closes <= due_at:
        return (f"The 24-hour window closes at {at}, before this time: a text will not be sent unless the customer "
                "writes again. Choose a template.")
    return None


def templates_allowed() -> bool:
    """Templates can be scheduled on a provider that syncs them (the Cloud API)."""
    channel = get_channel()
    return channel is not None and capabilities_for(channel.kind).template_sync


def scheduled_for_contact(contact: Contact) -> list[ScheduledMessage]:
    """The contact's scheduled messages: still scheduled first (soonest first), then the rest, newest first."""
    rows = db.session.scalars(select(ScheduledMessage).where(ScheduledMessage.contact_id == contact.id)
                              .order_by(ScheduledMessage.due_at.desc()).limit(200))
    return _ordered(list(rows))


def scheduled_in_workspace(show: str = "scheduled", limit: int = 500) -> list[tuple[ScheduledMessage, Contact]]:
    """Scheduled messages of the workspace with their contacts: `show` is "scheduled" or "all"."""
    stmt = select(ScheduledMessage, Contact).join(Contact, Contact.id == ScheduledMessage.contact_id)
    if show == "scheduled":
        stmt = stmt.where(ScheduledMessage.status == ScheduledStatus.SCHEDULED).order_by(ScheduledMessage.due_at)
    else:
        stmt = stmt.order_by(ScheduledMessage.due_at.desc())
    return [(item, contact) for item, contact in db.session.execute(stmt.limit(limit))]


def _ordered(rows: list[ScheduledMessage]) -> list[ScheduledMessage]:
    pending = sorted((r for r in rows if r.is_editable), key=lambda r: r.due_at)
    return pending + [r for r in rows if not r.is_editable]


def find_template(name: str | None, language: str | None) -> MessageTemplate | None:
    """The approved template called `name` in `language`, or None."""
    if not name:
        return None
    template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.name == name,
                                                               MessageTemplate.language == language))
    return template if template is not None and template.is_approved else None


# --- writes -----------------------------------------------------------------------------------------------

def _content_errors(body: str | None, template: MessageTemplate | None, variables: list[str] | None,
                    wants_template: bool) -> tuple[dict[str, str], str | None]:
    errors: dict[str, str] = {}
    text = (body or "").strip()
    if wants_template:
        if template is None or not template.is_approved:
            errors["template_id"] = "Choose one of your approved templates."
        elif not templates_allowed():
            errors["template_id"] = "Templates are a Cloud API feature; a linked device sends plain messages."
        else:
            try:
                build_components(template, list(variables or []))
            except TemplateInvalid as exc:
                errors["template_id"] = str(exc)
    elif not text:
        errors["body"] = "Write a message first."
    elif len(text) > TEXT_MAX:
        errors["body"] = f"Messages can have at most {TEXT_MAX} characters (this one has {len(text)})."
    return errors, text


def _due(local_due: datetime | None, errors: dict[str, str], now: datetime | None) -> datetime | None:
    if local_due is None:
        errors["due_at"] = "Choose a date and time."
        return None
    due_at = to_utc(local_due, workspace_zone())
    if due_at <= (now or utcnow()):
        errors["due_at"] = "Choose a time in the future."
    return due_at


def _fill(item: ScheduledMessage, text: str, template: MessageTemplate | None, variables: list[str] | None,
          due_at: datetime) -> None:
    if template is not None:
        item.body = None
        item.template_name, item.template_language = template.name, template.language
        item.template_variables = [(v or "").strip() for v in variables or []]
    else:
        item.body = text
        item.template_name = item.template_language = item.template_variables = None
    item.due_at = due_at


def _enqueue_timed(item: ScheduledMessage) -> None:
    """A job for the due moment; if Redis loses it, the sweep queues the row anyway."""
    delay = max(0.0, (item.due_at - utcnow()).total_seconds())
    enqueue_after_commit(SEND_JOB, item.tenant_id, item.id, delay=delay, queue_name=DEFAULT_QUEUE)


def schedule_message(contact: Contact, local_due: datetime | None, *, body: str | None = None,
                     template: MessageTemplate | None = None, variables: list[str] | None = None,
                     wants_template: bool = False, created_by_id: int | None = None,
                     now: datetime | None = None) -> ScheduledMessage:
    """Schedule a text or template for `local_due`, a wall-clock time in the workspace's zone (flushes)."""
    errors, text = _content_errors(body, template, variables, wants_template or template is not None)
    due_at = _due(local_due, errors, now)
    if errors:
        raise Invalid(errors)
    item = ScheduledMessage(contact_id=contact.id, status=ScheduledStatus.SCHEDULED, created_by_id=created_by_id)
    _fill(item, text, template if wants_template or template is not None else None, variables, due_at)
    db.session.add(item)
    db.session.flush()
    _enqueue_timed(item)
    return item


def update_scheduled(item: ScheduledMessage, local_due: datetime | None, *, body: str | None = None,
                     template: MessageTemplate | None = None, variables: list[str] | None = None,
                     wants_template: bool = False, now: datetime | None = None) -> ScheduledMessage:
    """Change the content or time of a message still scheduled (flushes)."""
    _ensure_editable(item)
    errors, text = _content_errors(body, template, variables, wants_template or template is not None)
    due_at = _due(local_due, errors, now)
    if errors:
        raise Invalid(errors)
    # Guarded: a sweep may have claimed the row since it was read.
    won = db.session.execute(update(ScheduledMessage)
                             .where(*_still_scheduled(item.id))
                             .values(updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not won:
        raise Invalid("This message is no longer scheduled, so it cannot be changed.")
    _fill(item, text, template if wants_template or template is not None else None, variables, due_at)
    db.session.flush()
    _enqueue_timed(item)  # the old job finds the row not yet due and leaves it
    return item


def cancel_scheduled(item: ScheduledMessage) -> None:
    """Cancel a message still scheduled (flushes)."""
    _ensure_editable(item)
    won = db.session.execute(update(ScheduledMessage)
                             .where(*_still_scheduled(item.id))
                             .values(status=ScheduledStatus.CANCELLED, processed_at=utcnow(), updated_at=utcnow())
                             .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise Invalid("This message is no longer scheduled, so it cannot be cancelled.")
    db.session.refresh(item)


def _still_scheduled(scheduled_id: int) -> tuple:
    """The guard of every change: the row is ours to change only while it is still scheduled."""
    return ScheduledMessage.id == scheduled_id, ScheduledMessage.status == ScheduledStatus.SCHEDULED


def _ensure_editable(item: ScheduledMessage) -> None:
    if not item.is_editable:
        raise Invalid("This message is no longer scheduled, so it cannot be changed.")


# --- queueing when due ------------------------------------------------------------------------------------

def send_scheduled(scheduled_id: int, now: datetime | None = None) -> str:
    """Queue one due message through the outbox, at most once; returns what happened (flushes).

    The guarded UPDATE is the claim: of a timed job and any number of sweeps, one changes the row and
    the others change nothing. A row not yet due (it was moved later) is left for its new job.
    """
    now = now or utcnow()
    claimed = db.session.execute(
        update(ScheduledMessage)
        .where(*_still_scheduled(scheduled_id), ScheduledMessage.due_at <= now)
        .values(status=ScheduledStatus.QUEUED, processed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return "skipped"
    item = db.session.scalar(select(ScheduledMessage).where(ScheduledMessage.id == scheduled_id)
                             .execution_options(populate_existing=True))
    contact = db.session.scalar(select(Contact).where(Contact.id == item.contact_id))
    try:
        with db.session.begin_nested():
            message = _queue(item, contact)
    except SendRefused as exc:
        item.status, item.reason = ScheduledStatus.NOT_SENT, str(exc)
        db.session.flush()
        return ScheduledStatus.NOT_SENT
    item.message_id = message.id
    db.session.flush()
    return ScheduledStatus.QUEUED


def _queue(item: ScheduledMessage, contact: Contact):
    """The outbox send for `item`, with the rules of this moment (raises SendRefused)."""
    if contact.opted_out:
        raise SendRefused(f"{contact.name} opted out of messages.")
    if item.is_template:
        template = find_template(item.template_name, item.template_language)
        if template is None:
            raise SendRefused(f"the template {item.template_name} ({item.template_language}) is no longer approved")
        return queue_template(contact, template, list(item.template_variables or []),
                              origin=MessageOrigin.SCHEDULED, bulk=True)
    if not window_open(contact, get_channel()):
        raise SendRefused(WINDOW_CLOSED)
    return queue_text(contact, item.body or "", origin=MessageOrigin.SCHEDULED, bulk=True)


def due_ids(now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Due rows of the current tenant, locked for this sweep (`FOR UPDATE SKIP LOCKED`: another sweep
    skips them instead of waiting; SQLite, which writes one transaction at a time, ignores the clause)."""
    return list(db.session.scalars(
        select(ScheduledMessage.id)
        .where(ScheduledMessage.status == ScheduledStatus.SCHEDULED, ScheduledMessage.due_at <= now)
        .order_by(ScheduledMessage.due_at, ScheduledMessage.id).limit(limit)
        .with_for_update(skip_locked=True)))


def queue_due(now: datetime | None = None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Queue the current tenant's due messages, one bounded batch (flushes; the caller commits)."""
    now = now or utcnow()
    counts = {ScheduledStatus.QUEUED.value: 0, ScheduledStatus.NOT_SENT.value: 0, "skipped": 0}
    for scheduled_id in due_ids(now, limit):
        counts[str(send_scheduled(scheduled_id, now))] += 1
    return counts


def due_criteria(now: datetime) -> tuple:
    """What the sweep looks for across tenants."""
    return ScheduledMessage.status == ScheduledStatus.SCHEDULED, ScheduledMessage.due_at <= now

