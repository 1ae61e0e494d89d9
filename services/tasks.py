"""Tasks on a contact or a deal: creating, marking done, and "My tasks" split by the workspace's days."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from extensions import db
from models import Contact, Deal, Task
from models.base import utcnow
from services.errors import Invalid


def _local_to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time typed in the workspace's zone, as UTC."""
    return moment.replace(tzinfo=zone).astimezone(UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def create_task(title: str, due_at: datetime | None, zone: ZoneInfo, *, contact: Contact | None = None,
                deal: Deal | None = None, user_id: int | None = None) -> Task:
    """A task for the user who adds it, on a contact and/or a deal; `due_at` is wall-clock time in `zone` (flushes)."""
    errors: dict[str, str] = {}
    clean = " ".join((title or "").split())
    if not clean:
        errors["title"] = "Enter what has to be done."
    elif len(clean) > Task.TITLE_MAX:
        errors["title"] = f"Keep it under {Task.TITLE_MAX} characters."
    if contact is None and deal is None:
        errors[""] = "A task belongs to a contact or a deal."
    if errors:
        raise Invalid(errors)
    contact_id = contact.id if contact is not None else deal.contact_id
    task = Task(title=clean, due_at=_local_to_utc(due_at, zone) if due_at else None, contact_id=contact_id,
                deal_id=deal.id if deal is not None else None, assignee_id=user_id, created_by_id=user_id)
    db.session.add(task)
    db.session.flush()
    return task


def set_done(task: Task, done: bool = True) -> None:
    """Mark a task done (now) or not done again (flushes)."""
    task.done_at = (task.done_at or utcnow()) if done else None
    db.session.flush()


def tasks_of_contact(contact: Contact) -> list[Task]:
    """The contact's tasks: open ones by due time first, then done ones."""
    return list(db.session.scalars(select(Task).where(Task.contact_id == contact.id)
                                   .order_by(Task.done_at.is_not(None), Task.due_at.is_(None), Task.due_at, Task.id)))


def tasks_of_deal(deal: Deal) -> list[Task]:
    """The deal's tasks, as for a contact."""
    return list(db.session.scalars(select(Task).where(Task.deal_id == deal.id)
                                   .order_by(Task.done_at.is_not(None), Task.due_at.is_(None), Task.due_at, Task.id)))


def _day_bounds(zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """Start of today and of tomorrow in `zone`, as UTC."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    end = datetime.combine(today + timedelta(days=1), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass
class MyTasks:
    """One person's open tasks: overdue (due before now), due later today, upcoming (or undated), and done lately."""

    overdue: list = field(default_factory=list)
    today: list = field(default_factory=list)
    upcoming: list = field(default_factory=list)
    done: list = field(default_factory=list)


def my_tasks(user_id: int, zone: ZoneInfo, now: datetime | None = None) -> MyTasks:
    """The user's tasks split by the workspace's day (two statements: open ones, and the last done ones)."""
    now = now or utcnow()
    _start, tomorrow = _day_bounds(zone, now)
    rows = db.session.execute(
        select(Task, Contact.name).outerjoin(Contact, Contact.id == Task.contact_id)
        .where(Task.assignee_id == user_id, Task.done_at.is_(None))
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id).limit(500))
    mine = MyTasks()
    for task, contact_name in rows:
        if task.due_at is not None and task.due_at < now:
            mine.overdue.append((task, contact_name))
        elif task.due_at is not None and task.due_at < tomorrow:
            mine.today.append((task, contact_name))
        else:
            mine.upcoming.append((task, contact_name))
    mine.done = [tuple(row) for row in db.session.execute(
        select(Task, Contact.name).outerjoin(Contact, Contact.id == Task.contact_id)
        .where(Task.assignee_id == user_id, Task.done_at.is_not(None))
        .order_by(Task.done_at.desc(), Task.id.desc()).limit(20))]
    return mine


def overdue_count(user_id: int, now: datetime | None = None) -> int:
    """How many of the user's open tasks are past due: one indexed count (the navigation shows it on every page)."""
    return int(db.session.scalar(select(func.count(Task.id)).where(
        Task.assignee_id == user_id, Task.done_at.is_(None), Task.due_at < (now or utcnow()))) or 0)
