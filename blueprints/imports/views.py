"""Import routes: upload, mapping with a preview, then the progress page that polls until the report shows."""
from __future__ import annotations

from flask import Response, current_app, request, url_for
from flask_login import current_user

from blueprints.common import get_or_404, put_errors
from blueprints.htmx import REFUSED, render, see_other, unchanged_poll
from blueprints.imports.blueprint import bp
from blueprints.imports.forms import StartForm, UploadForm
from extensions import db
from models import ContactImport
from models.contact_import import ImportState
from models.tenancy import tenant_scope
from services.contact_import import (
    create_import,
    errors_csv_lines,
    preview_of,
    recent_imports,
    refused_rows,
    start_import,
)
from services.contact_import.rows import CUSTOM, FIELDS
from services.errors import Invalid
from services.tags import all_tags

REPORT_ROWS = 1000  # refused rows shown on the page; the CSV download has all of them
POLL_EVERY = "1s"


@bp.route("/import", methods=["GET", "POST"])
def upload():
    """The upload form, with the workspace's recent imports."""
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            if upload is None or not upload.filename:
                raise Invalid({"file": "Choose a CSV file."})
            item = create_import(upload.filename, upload.read(), user_id=current_user.id)
        except Invalid as exc:
            db.session.rollback()
            form.form_errors.extend(put_errors(form, exc.errors))
        else:
            db.session.commit()
            return see_other(url_for("imports.mapping", import_id=item.id))
    status = REFUSED if request.method == "POST" else 200
    return render("imports/upload.html", status=status, form=form, imports=recent_imports())


def _column_choices(titles: list[str]) -> list[list[tuple[str, str]]]:
    """What each column can be imported as: a contact field, a custom field named after it, or nothing."""
    base = [("", "Do not import"), *((name, name.capitalize()) for name in FIELDS)]
    choices = []
    for n, title in enumerate(titles):
        key = title.strip()[:50] or f"column {n + 1}"
        choices.append([*base, (f"{CUSTOM}{key}", f"Custom field “{key}”")])
    return choices


@bp.route("/import/<int:import_id>/mapping", methods=["GET", "POST"])
def mapping(import_id: int):
    """Map each column to a field with the first rows in view; choose the mode and tags, then start."""
    item = get_or_404(ContactImport, import_id)
    if item.state != ImportState.DRAFT:
        # Started already (a second tab, the back button): its progress instead of a mapping that cannot change.
        return render("imports/show.html", **_progress_context(item))
    preview = preview_of(item)
    form = StartForm()
    form.tags.choices = [(t.id, t.name) for t in all_tags()]
    chosen = preview.mapping
    if request.method == "POST":
        chosen = {str(n): request.form.get(f"column-{n}", "") for n in range(len(preview.titles))}
    if form.validate_on_submit():
        try:
            start_import(item, chosen, form.mode.data, list(form.tags.data or []),
                         current_user.tenant.default_region)
        except Invalid as exc:
            db.session.rollback()
            form.form_errors.extend(put_errors(form, exc.errors))
        else:
            db.session.commit()
            return see_other(url_for("imports.show", import_id=item.id))
    status = REFUSED if request.method == "POST" else 200
    return render("imports/mapping.html", status=status, item=item, form=form, preview=preview, chosen=chosen,
                  choices=_column_choices(preview.titles))


def _progress_context(item: ContactImport) -> dict:
    finished = item.finished
    return {"item": item, "version": f"{item.state}:{item.rows_done}:{item.errors}",
            "poll_every": None if finished else POLL_EVERY,
            "refused": refused_rows(item, REPORT_ROWS) if finished else [], "report_rows": REPORT_ROWS}


@bp.get("/import/<int:import_id>")
def show(import_id: int):
    """The import's progress bar and counters; once it is finished, the report of every refused row."""
    item = get_or_404(ContactImport, import_id)
    if item.state == ImportState.DRAFT:
        return see_other(url_for("imports.mapping", import_id=item.id))
    return render("imports/show.html", **_progress_context(item))


@bp.get("/import/<int:import_id>/progress")
def progress(import_id: int):
    """The polled bar and counters: 204 while nothing changed, the report (and no more polling) once finished."""
    item = get_or_404(ContactImport, import_id)
    context = _progress_context(item)
    if (unchanged := unchanged_poll(context["version"])) is not None:
        return unchanged
    return render("imports/_progress.html", "imports/_progress.html", **context)


@bp.get("/import/<int:import_id>/errors.csv")
def errors_csv(import_id: int):
    """Every refused row as CSV: its line in the file, the reason, and the row as it was."""
    item = get_or_404(ContactImport, import_id)
    tenant_id, app = current_user.tenant_id, current_app._get_current_object()

    def generate():
        # Produced after the view returns: the tenant scope is kept explicitly around it.
        with app.app_context(), tenant_scope(tenant_id):
            yield from errors_csv_lines(import_id)

    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="import-{item.id}-errors.csv"'
    return response
