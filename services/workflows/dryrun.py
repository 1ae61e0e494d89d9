"""The dry run: what a workflow would do for a contact now, changing nothing and sending nothing."""
from __future__ import annotations

from datetime import datetime

from models import Contact, Workflow
from models.base import utcnow
from services.workflows.steps import ACTIONS, CONDITIONS, Context
from services.workspace import workspace_zone


def dry_run(workflow: Workflow, contact: Contact, now: datetime | None = None) -> list[tuple[str, bool, str]]:
    """(step, ok, text) lines: each condition's answer, then what each action would do, stopping where a run would.

    Conditions and `describe` only read; nothing is flushed, queued or sent.
    """
    ctx = Context(contact=contact, now=now or utcnow(), zone=workspace_zone(), workflow_id=workflow.id,
                  user_id=workflow.created_by_id)
    lines: list[tuple[str, bool, str]] = []
    for condition in workflow.conditions or []:
        ok, text = CONDITIONS[condition["kind"]].run(ctx, condition)
        lines.append(("condition", ok, text))
        if not ok:
            lines.append(("done", True, "conditions not met: no action would be taken"))
            return lines
    for index, action in enumerate(workflow.actions or [], 1):
        spec = ACTIONS[action["kind"]]
        try:
            text = spec.describe(ctx, action)
        except Exception as exc:
            lines.append(("action", False, f"{index}. {spec.label}: would fail: {exc}"))
            return lines
        lines.append(("action", not text.startswith("skipped"), f"{index}. {spec.label}: {text}"))
    return lines
