"""Domain events: recorded in the transaction that made the change, handed to consumers after commit.

A transactional outbox. `emit()` adds a `DomainEvent` row to the current transaction, so an event
exists exactly when its change does (a rollback takes both). Once the transaction commits, one
dispatch job per workspace (`jobs.events.dispatch_events`, single-flight) hands each undispatched
event, oldest first, to every consumer registered for its kind, then marks it dispatched. A consumer
that raises leaves the event with its error to be tried again later, and a sweep re-queues events
whose job was lost with Redis. Delivery is therefore at least once: consumers must be idempotent per
event id (a unique key on the rows they create), and quick (create rows and enqueue their own jobs).
"""
from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import insert

from extensions import db
from models.base import utcnow
from models.domain_event import DomainEvent
from models.tenancy import current_tenant_id
from services.queueing import INBOUND_QUEUE, enqueue_after_commit

DISPATCH_JOB = "jobs.events.dispatch_events"

MESSAGE_RECEIVED = "message.received"
MESSAGE_STATUS = "message.status"
CONTACT_CREATED = "contact.created"
CONTACT_UPDATED = "contact.updated"
TAG_ADDED = "tag.added"
TAG_REMOVED = "tag.removed"
DEAL_STAGE_CHANGED = "deal.stage_changed"
DRIP_COMPLETED = "drip.completed"
BROADCAST_FINISHED = "broadcast.finished"
KINDS = (MESSAGE_RECEIVED, MESSAGE_STATUS, CONTACT_CREATED, CONTACT_UPDATED, TAG_ADDED, TAG_REMOVED,
         DEAL_STAGE_CHANGED, DRIP_COMPLETED, BROADCAST_FINISHED)

Consumer = Callable[[DomainEvent], None]
# kind -> whether the workspace in scope has anything that wants events of that kind (a workflow, a webhook).
Interest = Callable[[str], bool]
_CONSUMERS: dict[str, list[Consumer]] = {kind: [] for kind in KINDS}
_INTERESTS: dict[Consumer, Interest] = {}
# The modules whose import registers the consumers. Imported by name on first need, so every process that
# emits or dispatches knows all of them (services cannot import their own consumers: those import this).
CONSUMER_MODULES = ("services.outbound_webhooks", "services.workflows.triggers")
_origin: ContextVar[dict[str, Any] | None] = ContextVar("messagehub_event_origin", default=None)


def dispatch_flight(tenant_id: int) -> str:
    """The single-flight key of a workspace's event dispatch: one job queued or running per workspace."""
    return f"event-dispatch:{tenant_id}"


def _dispatch_after_commit(tenant_id: int) -> None:
    enqueue_after_commit(DISPATCH_JOB, tenant_id, queue_name=INBOUND_QUEUE, single_flight=dispatch_flight(tenant_id))


def emit(kind: str, *, contact_id: int | None = None, subject_id: int | None = None,
         data: dict[str, Any] | None = None) -> DomainEvent:
    """Record that `kind` happened in the workspace in context; consumers hear of it after commit."""
    if kind not in _CONSUMERS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = DomainEvent(kind=kind, contact_id=contact_id, subject_id=subject_id, data=dict(data or {}),
                        origin=_origin.get())
    db.session.add(event)
    _dispatch_after_commit(current_tenant_id())
    return event


def emit_many(kind: str, events: Iterable[dict[str, Any]]) -> int:
    """Record many events of one kind in one INSERT (bulk paths); each dict has contact_id/subject_id/data.

    When no consumer wants the kind in this workspace (no workflow or webhook listens for it), nothing is
    written: an import of 100,000 contacts must not leave 100,000 events for nobody.
    """
    if kind not in _CONSUMERS:
        raise ValueError(f"unknown event kind {kind!r}")
    if not wanted_by(kind):
        return 0
    tenant_id, origin, now = current_tenant_id(), _origin.get(), utcnow()
    rows = [{"tenant_id": tenant_id, "kind": kind, "contact_id": e.get("contact_id"),
             "subject_id": e.get("subject_id"), "data": dict(e.get("data") or {}), "origin": origin,
             "created_at": now} for e in events]
    if rows:
        db.session.execute(insert(DomainEvent), rows)
        _dispatch_after_commit(tenant_id)
    return len(rows)


def consumer(*kinds: str, wants: Interest | None = None) -> Callable[[Consumer], Consumer]:
    """Register the decorated function to be called with every dispatched event of `kinds`.

    `wants(kind)`, when given, says cheaply whether the workspace in scope has anything the consumer would
    act on; events nobody wants are marked dispatched without calling anyone (and bulk ones never written).
    """
    unknown = set(kinds) - set(_CONSUMERS)
    if unknown or not kinds:
        raise ValueError(f"unknown event kinds {sorted(unknown)}")

    def register(fn: Consumer) -> Consumer:
        for kind in kinds:
            if fn not in _CONSUMERS[kind]:
                _CONSUMERS[kind].append(fn)
        if wants is not None:
            _INTERESTS[fn] = wants
        return fn

    return register


def _load_consumers() -> None:
    for name in CONSUMER_MODULES:
        importlib.import_module(name)


def consumers_of(kind: str) -> list[Consumer]:
    """The consumers registered for `kind`, in registration order."""
    _load_consumers()
    return list(_CONSUMERS.get(kind, ()))


def wanted_by(kind: str) -> list[Consumer]:
    """The consumers of `kind` that the workspace in scope gives something to do."""
    return [fn for fn in consumers_of(kind) if fn not in _INTERESTS or _INTERESTS[fn](kind)]


@contextlib.contextmanager
def origin(value: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Stamp events emitted inside the block with `value` (e.g. the workflow run whose action caused them)."""
    token = _origin.set(dict(value))
    try:
        yield value
    finally:
        _origin.reset(token)


def current_origin() -> dict[str, Any] | None:
    """The origin events emitted now would carry."""
    return _origin.get()
