"""Helpers shared by the area blueprints."""
from __future__ import annotations

from typing import TypeVar

from flask import abort, request
from sqlalchemy import select

from blueprints.htmx import REFUSED
from extensions import db

T = TypeVar("T")


def get_or_404(model: type[T], object_id: int) -> T:
    """Load a tenant object by id through a scoped SELECT (never the identity map); 404 if not ours."""
    obj = db.session.scalar(select(model).where(model.id == object_id))
    if obj is None:
        abort(404)
    return obj


def put_errors(form, errors: dict[str, str]) -> list[str]:
    """Show a service's validation messages on the matching form fields; returns those no field takes."""
    rest = []
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            rest.append(message)
    return rest


def form_status() -> int:
    """Status of a page showing a form: REFUSED when a POST comes back to it (it did not go through), else 200."""
    return REFUSED if request.method == "POST" else 200
