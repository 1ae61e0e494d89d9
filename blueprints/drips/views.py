"""Sequence and step routes: thin; the rules live in services.drips."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user

from blueprints.broadcasts.forms import SOURCE_LABELS, variables_from
from blueprints.common import form_status, get_or_404, put_errors
from blueprints.drips.blueprint import bp
from blueprints.drips.forms import (
    SequenceForm,
    StepForm,
    prepare_sequence_form,
    prepare_step_form,
    sequence_data,
    sequence_input,
    step_data,
    step_input,
)
from blueprints.htmx import REFUSED, render, see_other
from extensions import db
from models import DripSequence, DripStep
from services.broadcasts.content import approved_template, find_template, template_variable_names
from services.drips import figures
from services.drips.sequences import move_step, remove_step, save_sequence, save_step
from services.errors import Invalid
from services.inbox import approved_templates
from services.scheduling import templates_allowed
from services.tags import all_tags
from services.workspace import workspace_zone


@bp.get("/")
def index():
    """The sequences with their enrolment counts and each step's figures."""
    rows = figures.sequences()
    ids = [s.id for s in rows]
    steps = figures.steps_of(ids)
    return render("drips/index.html", rows=rows, counts=figures.state_counts(ids), steps=steps,
                  step_figures=figures.step_figures([s.id for group in steps.values() for s in group]))


def _sequence_page(form: SequenceForm, sequence: DripSequence | None, status: int = 200):
    steps = figures.steps_of([sequence.id])[sequence.id] if sequence else []
    return render("drips/form.html", status=status, form=form, sequence=sequence, steps=steps, zone=workspace_zone(),
                  tag_names={t.id: t.name for t in all_tags()})


def _save_sequence(form: SequenceForm, sequence: DripSequence | None):
    prepare_sequence_form(form, all_tags())
    if not form.validate_on_submit():
        return _sequence_page(form, sequence, form_status())
    data, unreadable = sequence_input(form)
    try:
        if unreadable:
            raise Invalid(unreadable)
        saved = save_sequence(data, sequence, created_by_id=current_user.id)
    except Invalid as exc:
        db.session.rollback()
        for message in put_errors(form, exc.errors):
            flash(message, "error")
        return _sequence_page(form, sequence, REFUSED)
    db.session.commit()
    flash(f"Sequence {saved.name} saved.", "success")
    return see_other(url_for("drips.edit", sequence_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Name a sequence and choose its settings; steps are added next."""
    return _save_sequence(SequenceForm(), None)


@bp.route("/<int:sequence_id>/edit", methods=["GET", "POST"])
def edit(sequence_id: int):
    """A sequence's settings and its steps (add, edit, move, remove)."""
    sequence = get_or_404(DripSequence, sequence_id)
    form = SequenceForm(data=sequence_data(sequence)) if request.method == "GET" else SequenceForm()
    return _save_sequence(form, sequence)


def _step_page(form: StepForm, sequence: DripSequence, step: DripStep | None, status: int, problems=()):
    template = approved_template(form.template_id.data) if form.content.data == "template" else None
    raw = request.form if request.method == "POST" else {
        **{f"source_{i}": v.get("source") for i, v in enumerate((step.template_variables if step else None) or [])},
        **{f"value_{i}": v.get("value") for i, v in enumerate((step.template_variables if step else None) or [])}}
    return render("drips/step_form.html", status=status, form=form, sequence=sequence, step=step,
                  template=template, variable_names=template_variable_names(template),
                  variables=variables_from(raw, template), sources=SOURCE_LABELS, problems=problems,
                  can_use_templates=templates_allowed())


def _save_step(sequence: DripSequence, step: DripStep | None):
    allowed = templates_allowed()
    form = prepare_step_form(StepForm(), approved_templates() if allowed else [])
    if request.method == "GET":
        if step is not None:
            template = find_template(step)
            form = prepare_step_form(StepForm(data=step_data(step, template)),
                                     approved_templates() if allowed else [])
        return _step_page(form, sequence, step, 200)
    if "refresh" in request.form or not form.validate_on_submit():
        return _step_page(form, sequence, step, 200 if "refresh" in request.form else REFUSED)
    template = approved_template(form.template_id.data) if form.content.data == "template" else None
    try:
        if form.content.data == "template" and not allowed:
            raise Invalid({"template_id": "Templates are a Cloud API feature; a linked device sends plain messages."})
        save_step(sequence, step_input(form, request.form, template), step)
    except Invalid as exc:
        db.session.rollback()
        return _step_page(form, sequence, step, REFUSED, put_errors(form, exc.errors))
    db.session.commit()
    flash("Step saved.", "success")
    return see_other(url_for("drips.edit", sequence_id=sequence.id))


@bp.route("/<int:sequence_id>/steps/new", methods=["GET", "POST"])
def new_step(sequence_id: int):
    """Add a step at the end; contacts enrolled now receive it after the steps before it."""
    return _save_step(get_or_404(DripSequence, sequence_id), None)


def _step(step_id: int) -> tuple[DripStep, DripSequence]:
    step = get_or_404(DripStep, step_id)
    if step.removed_at is not None:
        abort(404)  # removed steps are kept only for their figures
    return step, get_or_404(DripSequence, step.sequence_id)


@bp.route("/steps/<int:step_id>/edit", methods=["GET", "POST"])
def edit_step(step_id: int):
    """Change a step's delay or content; enrolments waiting for it take the new delay."""
    step, sequence = _step(step_id)
    return _save_step(sequence, step)


@bp.post("/steps/<int:step_id>/remove")
def remove(step_id: int):
    """Remove a step: contacts waiting for it move on to the next; its figures are kept."""
    step, sequence = _step(step_id)
    remove_step(step)
    db.session.commit()
    flash("Step removed. Contacts waiting for it move on to the next step.", "success")
    return see_other(url_for("drips.edit", sequence_id=sequence.id))


@bp.post("/steps/<int:step_id>/move")
def move(step_id: int):
    """Move a step up or down; a step a contact already had is never sent to them again."""
    step, sequence = _step(step_id)
    try:
        move_step(step, -1 if request.form.get("direction") == "up" else 1)
    except Invalid as exc:
        db.session.rollback()
        flash(exc.errors[""], "error")
    else:
        db.session.commit()
    return see_other(url_for("drips.edit", sequence_id=sequence.id))
