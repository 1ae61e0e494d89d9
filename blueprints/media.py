"""Signed, short-lived public links to media, fetched by gateways that send attachments by URL."""
from __future__ import annotations

from flask import Blueprint, abort, send_file

from models.tenancy import tenant_scope
from services.media_links import read_media_token
from services.media_store import media_path

bp = Blueprint("media", __name__)


@bp.get("/m/<token>")
def signed_file(token: str):
    """Serve the file a valid token names (the token carries its tenant and expires in an hour)."""
    found = read_media_token(token)
    if found is None:
        abort(404)
    tenant_id, relative = found
    with tenant_scope(tenant_id):
        try:
            path = media_path(relative)
        except PermissionError:
            abort(404)
        if not path.is_file():
            abort(404)
        response = send_file(path)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
