"""Segment routes: thin; filters, counts and previews live in services.segments."""
from __future__ import annotations

from flask import flash, request, url_for

from blueprints.common import get_or_404
from blueprints.htmx import REFUSED, render, see_other
from blueprints.segments.blueprint import bp
from blueprints.segments.forms import (
    SegmentForm,
    blank_row,
    definition_from,
    fill_choices,
    form_data,
    inputs_of,
    prepare,
    preview_definition,
    put_errors,
    row_index,
)
from extensions import db
from models import Segment
from services.errors import Invalid
from services.segments import delete_segment, preview, save_segment, segments_with_counts
from services.tags import all_tags


@bp.get("/")
def index():
    """Every segment with how many contacts it matches now."""
    return render("segments/index.html", rows=segments_with_counts())


def _preview_of(form: SegmentForm) -> tuple[object | None, list[str], list[str]]:
    """The live preview of what the form describes (rows still being filled in left out), or the messages
    explaining why there is none; and hints naming what those rows still need."""
    definition, used, hints = preview_definition(form)
    try:
        return preview(definition), [], hints
    except Invalid as exc:
        return None, put_errors(form, used, exc.errors), hints


def _editor(form: SegmentForm, segment: Segment | None):
    """New and edit share this: rows added or removed without JavaScript, saving, or showing the form."""
    tags = all_tags()
    prepare(form, tags)
    status = 200
    if request.method == "POST":
        if "add" in request.form:
            fill_choices(form.conditions.append_entry().form, tags)
        elif "remove" in request.form:
            kept = [e for e in form.conditions.entries if row_index(e) != request.form["remove"]]
            form.conditions.entries = kept or form.conditions.entries
        elif "refresh" not in request.form:
            status = REFUSED  # unless it saves below
            if form.validate_on_submit():
                definition, used = definition_from(form)
                try:
                    saved = save_segment(form.name.data, definition, segment)
                except Invalid as exc:
                    db.session.rollback()
                    put_errors(form, used, exc.errors)
                else:
                    db.session.commit()
                    flash(f"Segment {saved.name} saved.", "success")
                    return see_other(url_for("segments.index"))
    shown, problems, hints = _preview_of(form)
    return render("segments/form.html", status=status, form=form, segment=segment, preview=shown,
                  problems=problems, hints=hints, blank=blank_row(tags),
                  row_index=row_index, inputs_of=inputs_of)


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Build a segment, watching the preview as conditions change."""
    return _editor(SegmentForm(), None)


@bp.route("/<int:segment_id>/edit", methods=["GET", "POST"])
def edit(segment_id: int):
    """Change a segment's name or conditions."""
    segment = get_or_404(Segment, segment_id)
    form = SegmentForm(data=form_data(segment.name, segment.definition)) if request.method == "GET" else SegmentForm()
    return _editor(form, segment)


@bp.post("/preview")
def live_preview():
    """The count and first contacts of the filter being edited (htmx swaps it in as the form changes).

    A condition picked but not filled in yet is not an error: the page previews 150 ms after each change, so
    that is the usual state mid-edit. It is left out of the count and named in a hint; only what was filled
    in wrong is refused.
    """
    form = prepare(SegmentForm(), all_tags())
    shown, problems, hints = _preview_of(form)
    return render("segments/_preview.html", status=REFUSED if problems else 200, preview=shown, problems=problems,
                  hints=hints)


@bp.post("/<int:segment_id>/delete")
def delete(segment_id: int):
    """Delete a segment; its contacts keep everything."""
    segment = get_or_404(Segment, segment_id)
    name = segment.name
    delete_segment(segment)
    db.session.commit()
    flash(f"Segment {name} deleted.", "success")
    return see_other(url_for("segments.index"))
