"""Short-lived signed links to stored media, for gateways that fetch attachments by URL."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models.tenancy import current_tenant_id

LINK_MAX_AGE = 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="messagehub.media")


def signed_media_url(relative_path: str) -> str:
    """A public URL to one of the current tenant's files, valid for an hour."""
    token = _serializer().dumps({"t": current_tenant_id(), "p": relative_path})
    return f"{current_app.config['PUBLIC_BASE_URL']}/m/{token}"


def read_media_token(token: str) -> tuple[int, str] | None:
    """(tenant_id, path) from a valid, unexpired token, else None."""
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except BadSignature:
        return None
    return int(data["t"]), str(data["p"])
