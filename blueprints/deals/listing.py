"""The deals list with sorting, and its CSV export (streamed)."""
from __future__ import annotations

from flask import Response, current_app, request
from flask_login import current_user

from blueprints.deals.blueprint import bp
from blueprints.deals.views import chosen_pipeline, deal_filter
from blueprints.htmx import render
from extensions import db
from models.tenancy import tenant_scope
from services.deals import SORTS, all_pipelines, contacts_with_deals, csv_lines, deal_rows, record_export
from services.tags import all_tags

PER_PAGE = 50


def _sort() -> tuple[str, bool]:
    sort = request.args.get("sort", "created")
    return (sort if sort in SORTS else "created"), request.args.get("dir", "desc") != "asc"


@bp.get("/list")
def listing():
    """Every deal of the pipeline as a table, sorted by a column, filtered like the board."""
    pipeline = chosen_pipeline()
    chosen = deal_filter(by_stage=True)
    sort, descending = _sort()
    number = max(1, request.args.get("page", 1, type=int))
    # One extra row says whether there is a next page; the list is not counted.
    rows = db.session.execute(deal_rows(pipeline, chosen, sort, descending)
                              .limit(PER_PAGE + 1).offset((number - 1) * PER_PAGE)).all()
    db.session.commit()
    return render("deals/list.html", rows=rows[:PER_PAGE], number=number, has_next=len(rows) > PER_PAGE,
                  pipeline=pipeline, pipelines=all_pipelines(), filter=chosen,
                  filter_args=chosen.as_args(), sort=sort, descending=descending, tags=all_tags(),
                  contacts=contacts_with_deals(pipeline))


@bp.get("/export.csv")
def export():
    """The list as CSV, streamed in batches; cells a spreadsheet would run as formulas are defused."""
    pipeline = chosen_pipeline()
    chosen = deal_filter(by_stage=True)
    sort, descending = _sort()
    rows = deal_rows(pipeline, chosen, sort, descending)
    # Recorded (and committed) before the first byte: an export cut off midway is still on the log.
    record_export(pipeline, rows, chosen.as_args())
    db.session.commit()
    tenant_id = current_user.tenant_id
    app = current_app._get_current_object()

    def generate():
        # The body is produced after the view returns: keep the tenant scope explicitly around it.
        with app.app_context(), tenant_scope(tenant_id):
            yield from csv_lines(rows)

    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="deals-{pipeline.id}.csv"'
    return response
