"""HTMX request detection and responses: one place for HX-Redirect / HX-Trigger and 303s."""
from __future__ import annotations

import json

from flask import Response, redirect, request


def is_htmx() -> bool:
    """True when HTMX made this request (and it is not a history restore needing a full page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def htmx_target() -> str | None:
    """Id of the element HTMX will swap, if any."""
    return request.headers.get("HX-Target")


def see_other(location: str) -> Response:
    """Redirect after POST: HTMX follows HX-Redirect, browsers a 303."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def with_trigger(response: Response, event: str, detail: dict | None = None) -> Response:
    """Ask the page to fire `event` after the swap (e.g. to refresh a counter elsewhere)."""
    response.headers["HX-Trigger"] = json.dumps({event: detail or {}})
    return response
