"""/api/v1/broadcasts: create a draft, schedule or start it, follow its status, cancel it."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import request
from pydantic import AwareDatetime, BaseModel, Field

from blueprints.api.blueprint import operation, path_model, path_object
from blueprints.api.problems import ApiProblem
from blueprints.api.schemas import DbId
from extensions import db
from models import Broadcast
from services import broadcasts as service
from services.errors import Invalid
from services.outbox import TEXT_MAX
from services.workspace import workspace_zone

path_model("broadcast_id", Broadcast)
TAG = "Broadcasts"


class Audience(BaseModel):
    """Who receives it: everyone, contacts with any of the tags, or a segment (never the opted out)."""

    kind: Literal["all", "tags", "segment"] = "all"
    tag_ids: list[DbId] | None = Field(None, max_length=100)
    segment_id: DbId | None = None


class BroadcastCreate(BaseModel):
    """A draft: `text` (with {{name}}-style placeholders) or an approved `template_id` with its variables."""

    name: str = Field(max_length=Broadcast.NAME_MAX)
    audience: Audience = Field(default_factory=Audience)
    text: str | None = Field(None, max_length=TEXT_MAX)
    template_id: DbId | None = None
    variables: list[str] = Field(default_factory=list, max_length=20,
                                 description="Fixed values of the template's variables, in order.")
    send_at: AwareDatetime | None = Field(None, description="When scheduling sends it; absent: it starts at once.")


class BroadcastOut(BaseModel):
    """A broadcast and how far it is."""

    id: int
    name: str
    status: Literal["draft", "scheduled", "sending", "paused", "completed", "cancelled"]
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    recipients: int = Field(description="Recipients snapshotted when it started.")
    counts: dict[str, int] = Field(description="Recipients by outcome: queued, sent, delivered, read, failed…")
    error: str | None


def broadcast_out(broadcast: Broadcast) -> BroadcastOut:
    """A broadcast as the API shows it, with its progress counters."""
    shown = service.progress(broadcast)
    return BroadcastOut(id=broadcast.id, name=broadcast.name, status=broadcast.status,
                        scheduled_at=broadcast.scheduled_at, started_at=broadcast.started_at,
                        finished_at=broadcast.finished_at, recipients=shown.total, counts=shown.counts,
                        error=broadcast.error)


def _form_data(data: BroadcastCreate) -> dict:
    """The API's fields in the shape the broadcast editor submits."""
    form = {"name": data.name, "audience": data.audience.model_dump(),
            "content": "template" if data.template_id is not None else "text", "body": data.text or "",
            "template_id": data.template_id, "variables": [{"source": "fixed", "value": v} for v in data.variables],
            "when": "now"}
    if data.send_at is not None:
        local = data.send_at.astimezone(workspace_zone())
        form.update(when="later", day=local.date().isoformat(), at=local.time().isoformat())
    return form


def _lifecycle(step, broadcast: Broadcast):
    """Run a lifecycle step; a broadcast past that point is a 409."""
    try:
        return step(broadcast)
    except Invalid as exc:
        db.session.rollback()
        if "status" in exc.errors:
            raise ApiProblem(409, exc.errors["status"]) from exc
        raise


@operation("/broadcasts", "POST", tag=TAG, body=BroadcastCreate, ok=BroadcastOut, status=201)
def create_broadcast():
    """Save a draft; POST …/schedule then schedules it at `send_at` or starts it."""
    broadcast = service.save_broadcast(_form_data(request.context.json))
    db.session.commit()
    return broadcast_out(broadcast), 201


@operation("/broadcasts/<int:broadcast_id>", tag=TAG, ok=BroadcastOut)
def get_broadcast(broadcast_id: int):
    """A broadcast's status and counters."""
    return broadcast_out(path_object("broadcast_id"))


@operation("/broadcasts/<int:broadcast_id>/schedule", "POST", tag=TAG, ok=BroadcastOut, errors=(409, 422))
def schedule_broadcast(broadcast_id: int):
    """Confirm a draft: scheduled for its `send_at`, or sending from now (the daily message quota applies)."""
    broadcast = path_object("broadcast_id")
    _lifecycle(service.confirm, broadcast)
    db.session.commit()
    return broadcast_out(broadcast)


@operation("/broadcasts/<int:broadcast_id>/cancel", "POST", tag=TAG, ok=BroadcastOut, errors=(409,))
def cancel_broadcast(broadcast_id: int):
    """Stop it for good: recipients not sent yet are cancelled."""
    broadcast = path_object("broadcast_id")
    _lifecycle(service.cancel, broadcast)
    db.session.commit()
    return broadcast_out(broadcast)
