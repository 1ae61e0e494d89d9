"""Announcing finished enrolments: a `drip.completed` event for each, so workflows can follow on."""
from __future__ import annotations

from models import DripEnrolment
from services import events


def announce_completed(enrolments: list[DripEnrolment]) -> None:
    """Record `drip.completed` for enrolments that have just had their last step (flushed: they have ids)."""
    events.emit_many(events.DRIP_COMPLETED, [
        {"contact_id": e.contact_id, "subject_id": e.sequence_id, "data": {"enrolment_id": e.id}}
        for e in enrolments])
