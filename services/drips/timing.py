"""When a step is due: its delay from enrolment or the previous step, then the send window's next opening.

Minutes and hours are exact durations. Days keep the wall-clock time in the workspace's zone (a step
"1 day after" a 10:00 enrolment goes at 10:00 the next day, summer time or not). Windows are read in
the workspace's zone day by day and compared in UTC, so a DST change moves the UTC opening with it.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models import DripEnrolment, DripSequence, DripStep
from models.base import utcnow
from models.drip import DelayFrom, DelayUnit, EnrolmentState

UNIT_SECONDS = {DelayUnit.MINUTES: 60, DelayUnit.HOURS: 3600}


def step_due_at(step: DripStep, enrolled_at: datetime, anchor_at: datetime, zone: ZoneInfo) -> datetime:
    """When `step` falls due, before the send window is applied."""
    base = enrolled_at if step.delay_from == DelayFrom.ENROLMENT else anchor_at
    if step.delay_unit == DelayUnit.DAYS:
        local = base.astimezone(zone).replace(tzinfo=None) + timedelta(days=step.delay_value)
        return local.replace(tzinfo=zone).astimezone(UTC)
    return base + timedelta(seconds=step.delay_value * UNIT_SECONDS[DelayUnit(step.delay_unit)])


def next_opening(moment: datetime, sequence: DripSequence, zone: ZoneInfo) -> datetime:
    """`moment` if the sequence's window is open then, else the window's next opening."""
    if not sequence.has_window:
        return moment
    days = sequence.window_weekdays
    first_day = moment.astimezone(zone).date()
    for offset in range(8):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = datetime.combine(day, sequence.window_start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, sequence.window_end, tzinfo=zone).astimezone(UTC)
        if moment < closes:
            return max(moment, opens)
    return moment  # unreachable with at least one weekday; never hold a step for ever


def window_open(moment: datetime, sequence: DripSequence, zone: ZoneInfo) -> bool:
    """Whether the sequence's send window is open at `moment`."""
    return next_opening(moment, sequence, zone) == moment


def next_step(steps: list[DripStep], sent_step_ids: set[int]) -> DripStep | None:
    """The first step in the current order the enrolment has not had (sent or refused): never one twice."""
    return next((step for step in steps if step.id not in sent_step_ids), None)


def plan(enrolment: DripEnrolment, sequence: DripSequence, steps: list[DripStep], sent_step_ids: set[int],
         zone: ZoneInfo, now: datetime | None = None) -> DripStep | None:
    """Point an active enrolment at its next step and time, or complete it when none is left."""
    step = next_step(steps, sent_step_ids)
    if step is None:
        enrolment.state, enrolment.finished_at = EnrolmentState.COMPLETED, now or utcnow()
        enrolment.current_step_id = enrolment.next_step_at = None
        return None
    due = step_due_at(step, enrolment.enrolled_at, enrolment.anchor_at, zone)
    enrolment.current_step_id = step.id
    enrolment.next_step_at = next_opening(due, sequence, zone)
    return step
