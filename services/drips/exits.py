"""Exit rules: an enrolment stops when its contact replies (a per-sequence setting, on by default), opts
out (always) or gets the sequence's exit tag. Each is one guarded UPDATE on active enrolments.

Imports only models: the inbound and opt-out paths call in here.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from extensions import db
from models import Contact, DripEnrolment, DripSequence, DripStepSend, Tag
from models.base import utcnow
from models.drip import EnrolmentState

REPLIED = "replied"
OPTED_OUT = "opted out"


def _stop(criteria: tuple, reason: str, now: datetime) -> int:
    return db.session.execute(
        update(DripEnrolment).where(DripEnrolment.state == EnrolmentState.ACTIVE, *criteria)
        .values(state=EnrolmentState.STOPPED, reason=reason, next_step_at=None, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount


def on_reply(contact: Contact, now: datetime | None = None) -> int:
    """The contact wrote: count a reply to the last step of each active enrolment, stop those whose
    sequence exits on reply; returns how many stopped."""
    now = now or utcnow()
    active = select(DripEnrolment.id).where(DripEnrolment.contact_id == contact.id,
                                            DripEnrolment.state == EnrolmentState.ACTIVE)
    latest = (select(func.max(DripStepSend.id)).where(DripStepSend.enrolment_id.in_(active),
                                                      DripStepSend.message_id.is_not(None))
              .group_by(DripStepSend.enrolment_id))
    db.session.execute(update(DripStepSend).where(DripStepSend.id.in_(latest), DripStepSend.replied_at.is_(None))
                       .values(replied_at=now).execution_options(synchronize_session=False))
    exiting = select(DripSequence.id).where(DripSequence.exit_on_reply.is_(True))
    return _stop((DripEnrolment.contact_id == contact.id, DripEnrolment.sequence_id.in_(exiting)), REPLIED, now)


def on_opt_out(contact: Contact, now: datetime | None = None) -> int:
    """The contact opted out: every active enrolment stops; returns how many."""
    return _stop((DripEnrolment.contact_id == contact.id,), OPTED_OUT, now or utcnow())


def on_exit_tags(contact: Contact, tag_ids: set[int], now: datetime | None = None) -> int:
    """Tags were added: stop enrolments of sequences that exit on one of them; returns how many."""
    if not tag_ids:
        return 0
    now, stopped = now or utcnow(), 0
    sequences = db.session.execute(select(DripSequence.id, Tag.name)
                                   .join(Tag, Tag.id == DripSequence.exit_tag_id)
                                   .where(DripSequence.exit_tag_id.in_(tag_ids))).all()
    for sequence_id, tag_name in sequences:
        stopped += _stop((DripEnrolment.contact_id == contact.id, DripEnrolment.sequence_id == sequence_id),
                         f"tag {tag_name} added", now)
    return stopped
