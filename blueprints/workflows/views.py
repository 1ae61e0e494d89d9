"""The list (enable, disable, delete, presets), a workflow's run log and its dry run."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from blueprints.common import get_or_404
from blueprints.htmx import REFUSED, render, see_other
from blueprints.workflows.blueprint import bp
from extensions import db
from models import Contact, Workflow, WorkflowRun
from services.errors import Invalid
from services.tags import all_tags
from services.workflows.definitions import delete_workflow, keyword_tag_preset, set_enabled
from services.workflows.dryrun import dry_run
from services.workflows.trigger_kinds import TRIGGERS

RUNS_PER_PAGE = 50
CONTACT_CHOICES = 200


def _index(status: int = 200, preset_errors: dict | None = None):
    workflows = list(db.session.scalars(select(Workflow).order_by(Workflow.name, Workflow.id)))
    counts = dict(db.session.execute(select(WorkflowRun.workflow_id, func.count(WorkflowRun.id))
                                     .group_by(WorkflowRun.workflow_id)).all())
    return render("workflows/index.html", status=status, workflows=workflows, counts=counts, triggers=TRIGGERS,
                  tags=all_tags(), preset_errors=preset_errors or {}, preset=request.form)


@bp.get("/")
def index():
    """Every workflow with its trigger, state and number of runs."""
    return _index()


@bp.post("/<int:workflow_id>/enabled")
def toggle(workflow_id: int):
    """Turn a workflow on or off."""
    workflow = get_or_404(Workflow, workflow_id)
    set_enabled(workflow, request.form.get("enabled") == "1")
    db.session.commit()
    flash(f"{workflow.name} is {'on' if workflow.enabled else 'off'}.", "success")
    return see_other(url_for("workflows.index"))


@bp.post("/<int:workflow_id>/delete")
def delete(workflow_id: int):
    """Delete a workflow and its run log."""
    workflow = get_or_404(Workflow, workflow_id)
    name = workflow.name
    delete_workflow(workflow)
    db.session.commit()
    flash(f"Workflow {name} deleted.", "success")
    return see_other(url_for("workflows.index"))


@bp.post("/presets/keyword-tag")
def preset_keyword_tag():
    """One click: a message containing the keyword tags its contact (an enabled workflow)."""
    try:
        workflow = keyword_tag_preset(request.form.get("keyword", ""), request.form.get("tag_id"),
                                      user_id=current_user.id)
    except Invalid as exc:
        db.session.rollback()
        return _index(REFUSED, exc.errors)
    db.session.commit()
    flash(f"Workflow {workflow.name} is on.", "success")
    return see_other(url_for("workflows.index"))


@bp.get("/<int:workflow_id>/runs")
def runs(workflow_id: int):
    """The workflow's latest runs with each one's log."""
    workflow = get_or_404(Workflow, workflow_id)
    rows = list(db.session.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == workflow.id)
                                   .order_by(WorkflowRun.id.desc()).limit(RUNS_PER_PAGE)))
    names = dict(db.session.execute(select(Contact.id, Contact.name)
                                    .where(Contact.id.in_({r.contact_id for r in rows}))).all())
    return render("workflows/runs.html", workflow=workflow, runs=rows, names=names)


@bp.get("/runs/<int:run_id>")
def run(run_id: int):
    """One run with its log."""
    row = get_or_404(WorkflowRun, run_id)
    workflow = get_or_404(Workflow, row.workflow_id)
    names = dict(db.session.execute(select(Contact.id, Contact.name).where(Contact.id == row.contact_id)).all())
    return render("workflows/runs.html", workflow=workflow, runs=[row], names=names, single=True)


@bp.route("/<int:workflow_id>/test", methods=["GET", "POST"])
def test(workflow_id: int):
    """Dry run on a contact: what the workflow would do now, without sending or changing anything."""
    workflow = get_or_404(Workflow, workflow_id)
    contacts = list(db.session.execute(select(Contact.id, Contact.name, Contact.phone)
                                       .order_by(Contact.last_message_at.desc().nulls_last(), Contact.id.desc())
                                       .limit(CONTACT_CHOICES)).all())
    lines, contact, status = None, None, 200
    if request.method == "POST":
        raw = request.form.get("contact_id", "")
        contact = get_or_404(Contact, int(raw)) if raw.isdigit() else None
        if contact is None:
            flash("Choose a contact.", "error")
            status = REFUSED
        else:
            lines = dry_run(workflow, contact)
            db.session.rollback()  # belt and braces: the dry run only reads
    return render("workflows/test.html", "workflows/_test_result.html", status=status, workflow=workflow,
                  contacts=contacts, contact=contact, lines=lines)
