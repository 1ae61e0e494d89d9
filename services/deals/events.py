"""Domain events of deals, sent after the transaction that made them commits (workflows subscribe here).

A service records an event on the session; when that session commits, each recorded event is sent as a
blinker signal, and when it rolls back they are dropped, so a subscriber never hears of a change that did
not happen. Subscribers must be quick (enqueue a job): they run inside the committing request.
"""
from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace

from extensions import AppSession, db
from models.tenancy import listen_once

_signals = Namespace()
# sender: the tenant id (int); keyword `event`: a DealStageChanged.
deal_stage_changed = _signals.signal("deal-stage-changed")

_PENDING = "messagehub.deal_events"


@dataclass(frozen=True)
class DealStageChanged:
    """A deal entered another stage (or its first one, when `from_stage_id` is None)."""

    tenant_id: int
    deal_id: int
    contact_id: int
    pipeline_id: int
    from_stage_id: int | None
    to_stage_id: int
    user_id: int | None


def record(event: DealStageChanged) -> None:
    """Queue `event` to be sent once the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).append(event)


def _send_pending(session) -> None:
    events = session.info.pop(_PENDING, [])
    for event in events:
        deal_stage_changed.send(event.tenant_id, event=event)


def _drop_pending(session, previous_transaction) -> None:
    # A savepoint rolled back inside the transaction leaves the events recorded before it standing.
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


listen_once(AppSession, "after_commit", _send_pending)
listen_once(AppSession, "after_soft_rollback", _drop_pending)
