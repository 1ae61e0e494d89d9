"""Creating, validating, enabling and deleting workflows (each change audited), and the one-click presets."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from extensions import db
from models import Tag, Workflow
from services.audit import record
from services.errors import Invalid
from services.workflows.steps import ACTIONS, CONDITIONS, clean_config
from services.workflows.trigger_kinds import TRIGGERS, trigger_problems

MAX_STEPS = 20


@dataclass
class WorkflowInput:
    """The editor's state as posted: each step is {"kind": ..., <its settings as typed>}."""

    name: str = ""
    trigger_kind: str = "message.received"
    trigger: dict[str, Any] = field(default_factory=dict)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


def _steps(raw: list[dict], registry: dict, what: str, errors: dict[str, str]) -> list[dict]:
    clean = []
    if len(raw) > MAX_STEPS:
        errors[what] = f"At most {MAX_STEPS} {what}."
    for index, step in enumerate(raw[:MAX_STEPS]):
        spec = registry.get(step.get("kind"))
        if spec is None:
            errors[f"{what}-{index}-kind"] = "Choose what this step does."
            continue
        clean.append({"kind": spec.kind, **clean_config(spec.fields, step, f"{what}-{index}-", errors)})
    return clean


def validate(data: WorkflowInput) -> dict[str, Any]:
    """The workflow as stored, or Invalid with a message per field (keys match the editor's inputs)."""
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter a name for the workflow."
    elif len(name) > Workflow.NAME_MAX:
        errors["name"] = f"Keep the name under {Workflow.NAME_MAX} characters."
    trigger = TRIGGERS.get(data.trigger_kind)
    config: dict[str, Any] = {}
    if trigger is None:
        errors["trigger_kind"] = "Choose what starts the workflow."
    else:
        config = clean_config(trigger.fields, data.trigger, "trigger-", errors)
        errors.update(trigger_problems(trigger.kind, config))
    conditions = _steps(data.conditions, CONDITIONS, "conditions", errors)
    actions = _steps(data.actions, ACTIONS, "actions", errors)
    if not data.actions:
        errors["actions"] = "Add at least one action."
    if errors:
        raise Invalid(errors)
    return {"name": name, "trigger_kind": data.trigger_kind, "trigger_config": config, "conditions": conditions,
            "actions": actions}


def as_input(workflow: Workflow) -> WorkflowInput:
    """A saved workflow as the editor's state."""
    return WorkflowInput(name=workflow.name, trigger_kind=workflow.trigger_kind,
                         trigger=dict(workflow.trigger_config or {}), conditions=[dict(c) for c in workflow.conditions],
                         actions=[dict(a) for a in workflow.actions])


def save_workflow(data: WorkflowInput, workflow: Workflow | None = None, *, user_id: int | None = None) -> Workflow:
    """Create or change a workflow (flushes; a new one starts disabled unless saved from a preset)."""
    clean = validate(data)
    created = workflow is None
    workflow = workflow or Workflow(enabled=False, created_by_id=user_id)
    for key, value in clean.items():
        setattr(workflow, key, value)
    if workflow.trigger_kind != "schedule.daily":
        workflow.daily_done_on = None
    db.session.add(workflow)
    db.session.flush()
    record("workflow.created" if created else "workflow.updated", target=workflow,
           changes={"name": workflow.name, "trigger": workflow.trigger_kind,
                    "actions": [a["kind"] for a in workflow.actions]})
    return workflow


def set_enabled(workflow: Workflow, enabled: bool) -> None:
    """Turn a workflow on or off (flushes); a disabled workflow's waiting runs stop when they resume."""
    if workflow.enabled == enabled:
        return
    workflow.enabled = enabled
    db.session.flush()
    record("workflow.enabled" if enabled else "workflow.disabled", target=workflow, changes={"name": workflow.name})


def delete_workflow(workflow: Workflow) -> None:
    """Delete a workflow with its runs (flushes)."""
    record("workflow.deleted", target=workflow, changes={"name": workflow.name})
    db.session.delete(workflow)
    db.session.flush()


def keyword_tag_preset(keyword: str, tag_id: Any, *, user_id: int | None = None) -> Workflow:
    """The auto-tag rule: a message containing `keyword` tags the contact; saved enabled (flushes)."""
    keyword = " ".join((keyword or "").split())
    tag = db.session.scalar(select(Tag).where(Tag.id == int(tag_id))) if str(tag_id or "").isdigit() else None
    data = WorkflowInput(name=f"Auto-tag {tag.name if tag else '?'} on {keyword!r}"[:Workflow.NAME_MAX],
                         trigger={"match": "keyword", "value": keyword},
                         actions=[{"kind": "add_tag", "tag_id": tag_id}])
    try:
        workflow = save_workflow(data, user_id=user_id)
    except Invalid as exc:
        # The preset's form has two fields: name the problems after them.
        raise Invalid({("keyword" if key.startswith("trigger") else "tag_id" if key.startswith("actions") else key):
                       message for key, message in exc.errors.items()}) from exc
    set_enabled(workflow, True)
    return workflow
