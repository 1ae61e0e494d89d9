"""Queueing messages: each send a feature asks for becomes a queued row and a job after the commit."""
from __future__ import annotations

import json

from sqlalchemy import JSON, Integer, String, Text, cast, insert, literal, select, update

from extensions import db
from models import Channel, Contact, Message, MessageTemplate
from models.base import utcnow
from models.tenancy import current_tenant_id
from services.bulk_sql import among, on_postgresql, unnested
from services.channels import capabilities_for, get_channel
from services.media_store import MediaRejected, check_upload, save_media
from services.outbox import batch
from services.outbox.delivery import BATCH_MAX
from services.outbox.rules import CAPTION_MAX, TEXT_MAX, SendRefused, ensure_can_send, ensure_window
from services.queueing import enqueue_after_commit, send_queue
from services.quotas import QuotaExceeded, ensure_message_room

SEND_JOB = "jobs.sending.send_message"


def _queue(message: Message, contact: Contact, channel: Channel) -> Message:
    _ensure_quota()
    message.channel_kind = channel.kind
    db.session.add(message)
    db.session.flush()
    contact.last_message_at = utcnow()
    _enqueue_send(message)
    return message


def _ensure_quota(sending: int = 1) -> None:
    """The workspace's daily message quota, refused in the words every sender already shows."""
    try:
        ensure_message_room(sending)
    except QuotaExceeded as exc:
        raise SendRefused(str(exc)) from exc


def _enqueue_send(message: Message) -> None:
    # One job per batch of sends queued together: each job takes the next queued messages with it.
    enqueue_after_commit(SEND_JOB, message.tenant_id, message.id, queue_name=send_queue(message.origin),
                         coalesce=BATCH_MAX)


def insert_queued(channel: Channel, rows: list[dict], *, origin: str) -> list[int]:
    """Queue many outbound messages with one INSERT (the caller commits).

    Each row gives `contact_id`, `type`, `body` and `payload`, already checked by the caller the way
    queue_text / queue_template check one message. Returns the new ids in the order of `rows`; their
    send jobs are enqueued after the commit, one per batch a send job takes.
    """
    if not rows:
        return []
    now = utcnow()
    common = {"tenant_id": current_tenant_id(), "direction": Message.OUTBOUND, "status": "queued", "origin": origin,
              "channel_kind": channel.kind, "attempts": 0, "created_at": now, "updated_at": now}
    ids = _insert_rows(rows, common)
    db.session.execute(update(Contact).where(among(Contact.id, {row["contact_id"] for row in rows}, Integer))
                       .values(last_message_at=now).execution_options(synchronize_session=False))
    if all(batch.takes(capabilities_for(channel.kind), row["type"], origin) for row in rows):
        # One run of the batch sender takes them, batch after batch: no job per message or per twenty, so
        # another workspace's jobs never queue behind thousands of this one's on the bulk queue.
        enqueue_after_commit(batch.BULK_JOB, common["tenant_id"], queue_name=send_queue(origin))
        return ids
    for message_id in ids:
        enqueue_after_commit(SEND_JOB, common["tenant_id"], message_id, queue_name=send_queue(origin),
                             coalesce=BATCH_MAX)
    return ids


def _insert_rows(rows: list[dict], common: dict) -> list[int]:
    """INSERT the rows; returns their new ids in the order of `rows`."""
    if not on_postgresql():
        return list(db.session.scalars(insert(Message).returning(Message.id, sort_by_parameter_order=True),
                                       [{"media": None, "payload": None, **row, **common} for row in rows]))
    source = unnested("queued_rows", ordinality="n",
                      contact_id=([row["contact_id"] for row in rows], Integer),
                      type=([row["type"] for row in rows], String),
                      body=([row["body"] for row in rows], Text),
                      payload=([None if row["payload"] is None else json.dumps(row["payload"]) for row in rows], Text))
    names = list(common)
    chosen = select(source.c.contact_id, source.c.type, source.c.body, cast(source.c.payload, JSON),
                    *(literal(common[name], Message.__table__.c[name].type) for name in names)).order_by(source.c.n)
    # Ids come from the sequence in the order the rows are inserted, which the ORDER BY fixes: sorted, they
    # follow `rows`, whatever order RETURNING hands them back in.
    return sorted(db.session.scalars(insert(Message).from_select(["contact_id", "type", "body", "payload", *names],
                                                                 chosen).returning(Message.id)))


def template_content(template: MessageTemplate, variables: list[str]) -> tuple[str, dict]:
    """(what the customer reads, the message payload) of `template` with `variables` filled.

    Raises SendRefused when the variables do not fit the template.
    """
    from services.templates import TemplateInvalid, build_components, render_text

    try:
        components = build_components(template, variables)
    except TemplateInvalid as exc:
        raise SendRefused(str(exc)) from exc
    payload = {"template": {"name": template.name, "language": template.language, "components": components}}
    return render_text(template, variables), payload


def queue_text(contact: Contact, body: str, *, origin: str = "inbox", bulk: bool = False) -> Message:
    """Queue a text message (flushes; the caller commits, then the job runs)."""
    body = (body or "").strip()
    if not body:
        raise SendRefused("Write a message first.")
    if len(body) > TEXT_MAX:
        raise SendRefused(f"Messages can have at most {TEXT_MAX} characters (this one has {len(body)}).")
    channel = ensure_can_send(contact, get_channel(), bulk=bulk)
    ensure_window(contact, channel)
    return _queue(Message(contact_id=contact.id, direction=Message.OUTBOUND, type="text", body=body,
                          status="queued", origin=origin), contact, channel)


def queue_media(contact: Contact, data: bytes, filename: str, mime_type: str, caption: str = "", *,
                origin: str = "inbox") -> Message:
    """Queue an image or document; type and size are checked before anything is stored or sent."""
    caption = (caption or "").strip()
    if len(caption) > CAPTION_MAX:
        raise SendRefused(f"Captions can have at most {CAPTION_MAX} characters.")
    try:
        kind = check_upload(filename, mime_type, len(data))
    except MediaRejected as exc:
        raise SendRefused(str(exc)) from exc
    channel = ensure_can_send(contact, get_channel())
    ensure_window(contact, channel)
    mime_type = (mime_type or "").split(";")[0].strip().lower()
    media = {"path": save_media(data, mime_type), "mime_type": mime_type, "filename": filename, "size": len(data)}
    return _queue(Message(contact_id=contact.id, direction=Message.OUTBOUND, type=kind, body=caption or None,
                          media=media, status="queued", origin=origin), contact, channel)


def queue_template(contact: Contact, template: MessageTemplate, variables: list[str], *, origin: str = "inbox",
                   bulk: bool = False) -> Message:
    """Queue an approved template with its variables filled (allowed outside the window)."""
    if not template.is_approved:
        raise SendRefused(f"The template {template.name} is {template.status.lower()}, not approved.")
    channel = ensure_can_send(contact, get_channel(), bulk=bulk)
    if not capabilities_for(channel.kind).templates:
        raise SendRefused("Templates are a Cloud API feature; a linked device sends plain messages.")
    body, payload = template_content(template, variables)
    return _queue(Message(contact_id=contact.id, direction=Message.OUTBOUND, type="template",
                          body=body, payload=payload, status="queued", origin=origin), contact, channel)


def retry_message(message: Message, *, confirmed: bool = False) -> Message:
    """Queue a failed outbound message again (a person decided to).

    A message whose fate is unknown may already be on the customer's phone, so sending it
    again needs the person to confirm they accept a possible duplicate.
    """
    if message.direction != Message.OUTBOUND or message.status not in ("failed", "unknown"):
        raise SendRefused("Only failed messages can be retried.")
    if message.status == "unknown" and not confirmed:
        raise SendRefused("WhatsApp may already have delivered this message. Confirm to send it again.")
    channel = ensure_can_send(message.contact, get_channel())
    message.status, message.error_code, message.error_title = "queued", None, None
    message.attempts, message.next_attempt_at, message.sending_started_at = 0, None, None
    message.channel_kind = channel.kind
    _enqueue_send(message)
    return message
