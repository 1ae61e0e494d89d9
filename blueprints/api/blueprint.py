"""The REST API blueprint: bearer-key authentication, per-key and per-workspace limits, problem+json errors.

A request with a key runs in the key's workspace exactly as a signed-in person's request runs in theirs
(the same tenant scope), never with a session: no cookie is read for it and CSRF does not apply. GET needs
the read scope, anything else the write scope. Each resource is one module of routes declared with
`operation()`, which validates the request with the same pydantic schemas the OpenAPI document is made from.
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, request
from flask_limiter.util import get_remote_address
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from blueprints.api.problems import ApiProblem, from_http, from_invalid, from_validation, problem
from blueprints.api.schemas import Problem
from extensions import csrf, db, limiter
from models import ApiKey, AuditEvent
from models.tenancy import enter_tenant, leave_tenant
from services.api_keys import KeyHolder, key_holder
from services.errors import Duplicate, Invalid
from services.outbox import SendRefused
from services.paging import BadCursor
from services.quotas import QuotaExceeded

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)
VERSION_PREFIX = "/v1"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_KEY = object()
# URL id parameter -> the model it names (filled by the resource modules through path_model()).
PATH_MODELS: dict[str, type] = {}
# Path ids as the databases store them: a larger number matches no route (a 404), never reaches a query.
ID_CONVERTER = "<int(min=1, max=2147483647):"


def _refuse_invalid(_req, _resp, error, _instance, _adapter=None) -> None:
    """Spectree's hook after validating a request: a refused one becomes a 422 problem with a message per field."""
    if error is not None:
        raise ApiProblem(422, "The request has invalid fields.", from_validation(error.errors()))


spec = SpecTree(
    "flask", mode="strict", title="MessageHub API", version="1",
    description="Contacts, tags, segments, conversations, broadcasts and deals of one workspace. "
                "Authenticate with `Authorization: Bearer <key>` (Settings › API).",
    before=_refuse_invalid, validation_error_status=422, validation_error_model=Problem, annotations=False,
    security_schemes=[SecurityScheme(name="bearerAuth", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearerAuth": []},
    # Schemas are named by class alone (names stay unique across resources), so the document reads plainly.
    naming_strategy=lambda model: model.__name__,
)


def operation(rule: str, method: str = "GET", *, tag: str, ok=None, status: int = 200, query=None, body=None,
              errors: tuple[int, ...] = ()):
    """Declare an /api/v1 route: request schemas (`query`, `body`) validated, `ok` documented for `status`.

    `errors` lists the refusals particular to the route (409 for a duplicate or a state that forbids it); the
    ones every route may give (401, 403, 404, 422, 429) are added to the document for all.
    """
    responses = {f"HTTP_{status}": ok, **{f"HTTP_{code}": Problem for code in errors}}
    unknown = [name for name in re.findall(r"<int:(\w+)>", rule) if name not in PATH_MODELS]
    if unknown:  # fail closed: an id no model is declared for would reach the view unchecked
        raise LookupError(f"declare the model of {unknown} with path_model() first")

    def attach(view):
        validated = spec.validate(query=query, json=body, resp=Response(**responses), tags=[tag])(view)
        bp.add_url_rule(VERSION_PREFIX + rule.replace("<int:", ID_CONVERTER), view_func=validated, methods=[method])
        return validated

    return attach


def current_holder() -> KeyHolder | None:
    """The key this request carries (looked up once per request), or None."""
    found = g.get("_api_holder", _NO_KEY)
    if found is _NO_KEY:
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        found = key_holder(bearer.strip()) if scheme.lower() == "bearer" else None
        g._api_holder = found
    return found


def _per_key() -> str:
    holder = current_holder() if request.path.startswith(bp.url_prefix + VERSION_PREFIX) else None
    return f"api-key:{holder.key_id}" if holder else f"api-anonymous:{get_remote_address()}"


def _per_workspace() -> str:
    holder = current_holder() if request.path.startswith(bp.url_prefix + VERSION_PREFIX) else None
    return f"api-workspace:{holder.tenant_id}" if holder else f"api-anonymous:{get_remote_address()}"


limiter.limit(lambda: current_app.config["API_LIMIT_PER_KEY"], key_func=_per_key)(bp)
limiter.limit(lambda: current_app.config["API_LIMIT_PER_WORKSPACE"], key_func=_per_workspace,
              scope="api-workspace")(bp)


@bp.before_request
def _authenticate():
    """Enter the key's workspace, or refuse: 401 without a valid key, 403 when suspended or out of scope."""
    if not request.path.startswith(bp.url_prefix + VERSION_PREFIX + "/"):
        return None  # the OpenAPI document and its page are public
    holder = current_holder()
    if holder is None:
        raise ApiProblem(401, "Send a valid, unrevoked API key as `Authorization: Bearer <key>`.",
                         headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if holder.suspended:
        raise ApiProblem(403, "This workspace is suspended.")
    # A browser's session must not decide the workspace: the key does.
    previous = g.pop("_tenant_token", None)
    if previous is not None:
        leave_tenant(previous)
    g._tenant_token = enter_tenant(holder.tenant_id)
    g.audit_actor = (AuditEvent.API_KEY, holder.key_id, holder.name)
    needed = ApiKey.READ if request.method in READ_METHODS else ApiKey.WRITE
    if needed not in holder.scopes:
        raise ApiProblem(403, f"This key lacks the {needed} scope.")
    if _carries_nul():
        raise ApiProblem(422, "The request has invalid fields.", {"": "Text may not contain NUL characters."})
    _load_path_objects()
    return None


def _carries_nul() -> bool:
    """True when a query value or the JSON body holds a NUL character, which PostgreSQL text cannot store."""
    if any("\x00" in value for values in request.args.listvalues() for value in values):
        return True
    body = request.get_data(cache=True)
    return b"\x00" in body or b"\\u0000" in body


def path_model(name: str, model) -> None:
    """Say which model a route's `<int:name>` addresses, so every such route finds (or 404s) it the same way."""
    PATH_MODELS[name] = model


def _load_path_objects() -> None:
    """Load the objects the URL names, in the key's workspace, before the body is even read.

    Another workspace's id is a 404 whatever the request carries: its body is not validated first, so the
    answer never depends on whether the id exists elsewhere.
    """
    g.api_objects = {}
    for name, value in (request.view_args or {}).items():
        model = PATH_MODELS.get(name)
        if model is None:
            continue
        found = db.session.scalar(select(model).where(model.id == value))
        if found is None:
            raise ApiProblem(404, "There is no such object in this workspace.")
        g.api_objects[name] = found


def path_object(name: str):
    """The object the URL's `name` id named (loaded and checked before the view ran)."""
    return g.api_objects[name]


@bp.errorhandler(ApiProblem)
def _api_problem(error: ApiProblem):
    return problem(error.status, error.detail, error.errors, error.headers)


@bp.errorhandler(Duplicate)
def _duplicate(error: Duplicate):
    db.session.rollback()
    return from_invalid(error, 409)


@bp.errorhandler(QuotaExceeded)
def _quota(error: QuotaExceeded):
    db.session.rollback()
    return from_invalid(error, 403)


@bp.errorhandler(SendRefused)
def _send_refused(error: SendRefused):
    db.session.rollback()
    # The daily message quota reaches the API as a refused send; it answers like the contact quota.
    return problem(403 if isinstance(error.__cause__, QuotaExceeded) else 409, f"Not sent: {error}")


@bp.errorhandler(Invalid)
def _invalid(error: Invalid):
    db.session.rollback()
    return from_invalid(error)


@bp.errorhandler(BadCursor)
def _bad_cursor(_error: BadCursor):
    return problem(422, "The request has invalid fields.", {"cursor": "Not a cursor this API gave out."})


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return from_http(error)


@bp.errorhandler(500)
def _server_error(_error):
    db.session.rollback()
    return problem(500, "The error was logged. Try again in a moment.")


@bp.route(VERSION_PREFIX + "/<path:_anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _unknown(_anything: str):
    """Anything else under /api/v1 is a problem+json 404 (or 405 for a known path), not the site's HTML page."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        raise ApiProblem(405, "This address does not accept that method.", headers={"Allow": ", ".join(allowed)})
    raise ApiProblem(404, "There is no such resource.")


__all__ = ["Response", "bp", "operation", "path_model", "path_object", "spec"]
