"""Pipeline settings: add and rename pipelines; add, rename, reorder stages and mark them won or lost."""
from __future__ import annotations

from flask import flash, request, url_for

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.deals.blueprint import bp
from blueprints.deals.forms import PipelineForm, StageForm
from blueprints.htmx import render, see_other
from extensions import db
from models import Pipeline, Stage
from services.deals import add_pipeline, add_stage, all_pipelines, move_stage, rename_pipeline, stages_of, update_stage
from services.errors import Invalid


def _settings(pipeline: Pipeline | None = None, pipeline_form: PipelineForm | None = None,
              stage_form: StageForm | None = None, editing: dict | None = None):
    """The settings page: every pipeline with its stages, the add forms, and any refused form's messages."""
    pipelines = all_pipelines()
    db.session.commit()
    return render("deals/pipelines.html", status=form_status(), pipelines=pipelines,
                  stages={p.id: stages_of(p) for p in pipelines}, pipeline_form=pipeline_form or PipelineForm(),
                  stage_form=stage_form or StageForm(formdata=None), stage_form_for=pipeline.id if pipeline else None,
                  editing=editing or {})


def _back(pipeline_id: int) -> str:
    return url_for("deals.pipelines") + f"#pipeline-{pipeline_id}"


@bp.route("/pipelines", methods=["GET", "POST"])
def pipelines():
    """Pipeline settings; POST adds a pipeline."""
    form = PipelineForm()
    if form.validate_on_submit():
        try:
            pipeline = add_pipeline(form.name.data)
        except Invalid as exc:
            db.session.rollback()
            put_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"Pipeline “{pipeline.name}” added.", "success")
            return see_other(_back(pipeline.id))
    return _settings(pipeline_form=form)


@bp.post("/pipelines/<int:pipeline_id>/rename")
def pipeline_rename(pipeline_id: int):
    """Rename a pipeline."""
    pipeline = get_or_404(Pipeline, pipeline_id)
    try:
        rename_pipeline(pipeline, request.form.get("name", ""))
    except Invalid as exc:
        db.session.rollback()
        return _settings(editing={f"pipeline-{pipeline_id}": exc.errors.get("name", "")})
    db.session.commit()
    flash("Pipeline renamed.", "success")
    return see_other(_back(pipeline.id))


@bp.post("/pipelines/<int:pipeline_id>/stages")
def stage_add(pipeline_id: int):
    """Add a stage at the right end of a pipeline."""
    pipeline = get_or_404(Pipeline, pipeline_id)
    form = StageForm()
    try:
        add_stage(pipeline, form.name.data, form.outcome.data)
    except Invalid as exc:
        db.session.rollback()
        for message in put_errors(form, exc.errors):
            flash(message, "error")
        return _settings(pipeline, stage_form=form)
    db.session.commit()
    flash("Stage added.", "success")
    return see_other(_back(pipeline.id))


@bp.post("/stages/<int:stage_id>")
def stage_update(stage_id: int):
    """Rename a stage, or mark it open, won or lost."""
    stage = get_or_404(Stage, stage_id)
    form = StageForm()
    try:
        update_stage(stage, form.name.data, form.outcome.data)
    except Invalid as exc:
        db.session.rollback()
        return _settings(editing={f"stage-{stage_id}": " ".join(exc.errors.values())})
    db.session.commit()
    flash("Stage saved.", "success")
    return see_other(_back(stage.pipeline_id))


@bp.post("/stages/<int:stage_id>/move")
def stage_move(stage_id: int):
    """Move a stage one place left or right."""
    stage = get_or_404(Stage, stage_id)
    try:
        move_stage(stage, -1 if request.form.get("direction") == "left" else 1)
    except Invalid as exc:
        db.session.rollback()
        flash(exc.errors[""], "error")
    else:
        db.session.commit()
    return see_other(_back(stage.pipeline_id))
