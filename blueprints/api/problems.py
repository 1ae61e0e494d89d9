"""Errors as RFC 9457 problem details (application/problem+json), with a message per field where one applies."""
from __future__ import annotations

from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

from services.errors import Invalid

PROBLEM_TYPE = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Too large", 415: "Unsupported media type", 422: "Invalid input",
          429: "Too many requests", 500: "Server error"}


class ApiProblem(Exception):
    """Stop the request with a problem answer: `status`, a human `detail`, and per-field `errors`."""

    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors or {}, headers or {}


def problem(status: int, detail: str, errors: dict[str, str] | None = None,
            headers: dict[str, Any] | None = None) -> Response:
    """A problem+json response; `errors` maps a field (dotted path for nested ones) to its message."""
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if errors:
        body["errors"] = [{"field": field or None, "message": message} for field, message in errors.items()]
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = str(value)
    return response


def from_http(error: HTTPException) -> Response:
    """A werkzeug error (404, 405, Flask-Limiter's 429…) as a problem."""
    code = error.code or 500
    detail = error.description or TITLES.get(code, "")
    if code == 429:
        detail = f"Rate limit exceeded ({error.description}). Retry after the time in Retry-After."
    response = problem(code, detail)
    if code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def from_invalid(error: Invalid, status: int = 422) -> Response:
    """A service's refusal (field -> message) as a problem."""
    detail = "; ".join(error.errors.values()) if status != 422 else "The request has invalid fields."
    return problem(status, detail, error.errors)


def from_validation(errors: list[dict]) -> dict[str, str]:
    """Pydantic's errors as field -> message (the location joined by dots, "body" and "query" left out)."""
    fields: dict[str, str] = {}
    for item in errors:
        location = [str(part) for part in item.get("loc", ())]
        fields[".".join(location) or ""] = item.get("msg", "Invalid value.")
    return fields
