"""HTMX request detection and responses: one place for HX-Redirect / HX-Trigger and 303s."""
from __future__ import annotations

import json

from flask import Response, make_response, redirect, render_template, request

# The one status for a form that was refused: htmx swaps it in (see the responseHandling in base.html).
REFUSED = 422


def is_htmx() -> bool:
    """True when HTMX made this request (and it is not a history restore needing a full page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def htmx_target() -> str | None:
    """Id of the element HTMX will swap, if any."""
    return request.headers.get("HX-Target")


def unchanged_poll(version: str) -> Response | None:
    """204 for a poll whose page already shows `version` (htmx then leaves it alone); None when it changed.

    Every polled partial (inbox list and thread, badge, sandbox phone, broadcast progress) sends the
    version it shows as `?v=`, so an unchanged poll costs only the version's own lookup.
    """
    return Response(status=204) if request.args.get("v") == version else None


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


def render(page: str, partial: str | None = None, /, *, status: int = 200, **context) -> Response:
    """`partial` for htmx requests (when given), the full `page` otherwise; the answer varies by HX-Request.

    `Vary` keeps a browser or proxy cache from serving a bare partial where a page was asked for. The
    template names are positional-only, so a context variable may be called `page` or `partial`.
    """
    template = partial if partial is not None and is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
