"""The contacts list as CSV: the same filters as the list (search, tag, segment; none for everyone), streamed."""
from __future__ import annotations

from flask import Response, current_app, request
from flask_login import current_user

from blueprints.common import get_or_404
from blueprints.imports.blueprint import bp
from extensions import db
from models import Segment, Tag
from models.tenancy import tenant_scope
from services.contact_export import Audience, csv_lines, record_export


def _chosen(model, name: str):
    raw = request.args.get(name, "")
    # Another workspace's tag or segment is as unknown here as a made-up one.
    return get_or_404(model, int(raw)) if raw.isdigit() else None


@bp.get("/export.csv")
def export():
    """Contacts as CSV with their tags and custom fields; written in the audit log before the first byte."""
    audience = Audience.of(request.args.get("q", ""), _chosen(Tag, "tag"), _chosen(Segment, "segment"))
    record_export(audience)
    db.session.commit()
    tenant_id, app = current_user.tenant_id, current_app._get_current_object()

    def generate():
        # The body is produced after the view returns: keep the tenant scope explicitly around it.
        with app.app_context(), tenant_scope(tenant_id):
            yield from csv_lines(audience)

    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="contacts-{audience.kind}.csv"'
    return response
