"""Short-lived signed links to stored media, for gateways that fetch attachments by URL."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models.tenancy import current_tenant_id
from services.media_store import media_path
from services.public_url import public_base_url, unreachable

LINK_MAX_AGE = 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="messagehub.media")


def _prefix() -> str:
    return f"{public_base_url()}/m/"


def signed_media_url(relative_path: str) -> str:
    """A public URL to one of the current tenant's files, valid for an hour."""
    token = _serializer().dumps({"t": current_tenant_id(), "p": relative_path})
    return _prefix() + token


def read_media_token(token: str) -> tuple[int, str] | None:
    """(tenant_id, path) from a valid, unexpired token, else None."""
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except BadSignature:
        return None
    return int(data["t"]), str(data["p"])


def read_own_media(link: str, limit: int) -> bytes | None:
    """The bytes behind one of the current tenant's signed links, if it is ours and at most `limit` bytes."""
    if not link.startswith(_prefix()):
        return None
    found = read_media_token(link[len(_prefix()):])
    if found is None or found[0] != current_tenant_id():
        return None
    try:
        path = media_path(found[1])
        if path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except (PermissionError, FileNotFoundError):
        return None


def _gateway_refusal(url: str) -> str | None:
    from whatsapp.gateway import media_url_accepted

    if media_url_accepted(url):
        return None
    return "Evolution only fetches from a dotted host name or an IP address"


def gateway_link_problem() -> str | None:
    """Why the gateway would refuse links to our public base URL (files too large to send inline), or None."""
    from whatsapp.gateway import INLINE_MEDIA_MAX

    found = unreachable(_gateway_refusal, "/m/x")
    if found is None:
        return None
    base, reason = found
    return (f"Files over {INLINE_MEDIA_MAX // 1048576} MB are sent to the gateway as links to {base}, which it "
            f"refuses: {reason}. Set PUBLIC_BASE_URL to such an address (for example https://crm.example.com "
            "or http://10.0.0.5:5000); smaller files are sent inline and are not affected.")
