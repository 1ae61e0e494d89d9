"""The editor: one form for trigger, conditions and actions; builder buttons re-render it (htmx) without saving."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from blueprints.common import get_or_404
from blueprints.htmx import REFUSED, render, see_other
from blueprints.workflows.blueprint import bp
from blueprints.workflows.forms import apply_op, options, state_from
from extensions import db
from models import Workflow
from services.errors import Invalid
from services.workflows.definitions import WorkflowInput, as_input, save_workflow
from services.workflows.steps import ACTIONS, CONDITIONS
from services.workflows.trigger_kinds import TRIGGERS


def _page(data: WorkflowInput, workflow: Workflow | None, errors: dict[str, str] | None = None, status: int = 200):
    return render("workflows/form.html", "workflows/_editor.html", status=status, data=data, workflow=workflow,
                  errors=errors or {}, triggers=TRIGGERS, conditions=CONDITIONS, actions=ACTIONS, options=options(),
                  action_url=request.path)


def _edit(workflow: Workflow | None):
    if request.method == "GET":
        return _page(as_input(workflow) if workflow else WorkflowInput(actions=[]), workflow)
    data = state_from(request.form)
    op = request.form.get("op", "")
    if op:
        # A builder button: the steps change on the page only; nothing is saved until "Save workflow".
        apply_op(data, op, request.form)
        return _page(data, workflow)
    try:
        saved = save_workflow(data, workflow, user_id=current_user.id)
    except Invalid as exc:
        db.session.rollback()
        if exc.errors.get(""):
            flash(exc.errors[""], "error")
        return _page(data, workflow, exc.errors, REFUSED)
    db.session.commit()
    flash(f"Workflow {saved.name} saved{'' if saved.enabled else ' (disabled: turn it on in the list)'}.", "success")
    return see_other(url_for("workflows.index"))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new workflow: choose the trigger, add conditions and actions."""
    return _edit(None)


@bp.route("/<int:workflow_id>/edit", methods=["GET", "POST"])
def edit(workflow_id: int):
    """Change a workflow; runs already started keep going with the saved steps as they are when they resume."""
    return _edit(get_or_404(Workflow, workflow_id))
