"""The editor's state as posted (name, trigger and its settings, numbered steps) and the options its selects offer."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from extensions import db
from models import DripSequence
from services.deals import all_pipelines, stages_of
from services.inbox import approved_templates
from services.outbound_webhooks.subscriptions import list_subscriptions
from services.tags import all_tags
from services.workflows.definitions import WorkflowInput
from services.workflows.steps import ACTIONS, CONDITIONS
from services.workflows.trigger_kinds import TRIGGERS

STEP_KEY = re.compile(r"^(conditions|actions)-(\d+)-kind$")
LISTS = ("conditions", "actions")


def _fields_of(kind: str, what: str):
    if what == "trigger":
        spec = TRIGGERS.get(kind)
    else:
        spec = (CONDITIONS if what == "conditions" else ACTIONS).get(kind)
    return spec.fields if spec else ()


def _values(form, prefix: str, fields) -> dict[str, Any]:
    values = {}
    for spec in fields:
        key = prefix + spec.name
        values[spec.name] = form.getlist(key) if spec.input == "weekdays" else form.get(key, "")
    return values


def state_from(form) -> WorkflowInput:
    """The workflow the form describes, in the order its steps are numbered."""
    kind = form.get("trigger_kind", "message.received")
    data = WorkflowInput(name=form.get("name", ""), trigger_kind=kind,
                         trigger=_values(form, "trigger-", _fields_of(kind, "trigger")))
    found: dict[str, list[int]] = {what: [] for what in LISTS}
    for key in form:
        match = STEP_KEY.match(key)
        if match:
            found[match.group(1)].append(int(match.group(2)))
    for what in LISTS:
        for index in sorted(found[what]):
            kind = form.get(f"{what}-{index}-kind", "")
            step = {"kind": kind, **_values(form, f"{what}-{index}-", _fields_of(kind, what))}
            getattr(data, what).append(step)
    return data


def apply_op(data: WorkflowInput, op: str, form) -> None:
    """A builder button: add a step of the chosen kind, or remove / move step n of a list (in place)."""
    verb, _, rest = op.partition(":")
    what, _, raw = rest.partition(":")
    if what not in LISTS:
        return
    steps = getattr(data, what)
    if verb == "add":
        kind = form.get(f"new-{what}", "")
        if kind in (CONDITIONS if what == "conditions" else ACTIONS):
            steps.append({"kind": kind})
        return
    if not raw.isdigit() or int(raw) >= len(steps):
        return
    index = int(raw)
    if verb == "remove":
        steps.pop(index)
    elif verb in ("up", "down"):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(steps):
            steps[index], steps[other] = steps[other], steps[index]


def options() -> dict[str, list[tuple[int, str]]]:
    """Choices for the reference fields: the workspace's tags, stages, sequences, approved templates, webhooks."""
    stages = [(s.id, f"{p.name} › {s.name}") for p in all_pipelines() for s in stages_of(p)]
    return {"tag": [(t.id, t.name) for t in all_tags()], "stage": stages,
            "sequence": [(s.id, s.name) for s in db.session.scalars(select(DripSequence).order_by(DripSequence.name))],
            "template": [(t.id, f"{t.name} ({t.language})") for t in approved_templates()],
            "webhook": [(w.id, w.url) for w in list_subscriptions()]}
