"""The OpenAPI 3.1 document (made by spectree from the schemas that validate requests) and its docs page."""
from __future__ import annotations

import copy
import re

from flask import jsonify, render_template

from blueprints.api.blueprint import bp, spec
from blueprints.api.problems import PROBLEM_TYPE
from blueprints.api.schemas import Problem
from extensions import limiter

SWAGGER_UI = "5.35.0"
# Answers any operation may give besides its own: no key, limits; writes may lack the scope or the quota.
COMMON = {"401": "Missing, unknown or revoked key.", "429": "Rate limit reached; see Retry-After.",
          "403": "The key lacks the scope, or the workspace is suspended or out of quota."}
_PATH_PARAM = re.compile(r"{[^}]+}")
_document: dict | None = None


def _problem_ref() -> dict:
    return {"content": {PROBLEM_TYPE: {"schema": {"$ref": f"#/components/schemas/{Problem.__name__}"}}}}


def openapi_document() -> dict:
    """spectree's document with every error answer declared as problem+json, and the answers all routes share."""
    global _document
    if _document is None:
        document = copy.deepcopy(spec.spec)
        for path, operations in document["paths"].items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, answer in list(responses.items()):
                    if int(status) >= 400:
                        responses[status] = {"description": answer.get("description", ""), **_problem_ref()}
                for status, description in COMMON.items():
                    responses.setdefault(status, {"description": description, **_problem_ref()})
                if _PATH_PARAM.search(path):
                    responses.setdefault("404", {"description": "No such object in this workspace.",
                                                 **_problem_ref()})
        _document = document
    return _document


@bp.get("/openapi.json")
@limiter.exempt
def openapi_json():
    """The API's OpenAPI 3.1 document."""
    return jsonify(openapi_document())


@bp.get("/docs")
@limiter.exempt
def docs():
    """Browsable API reference (Swagger UI, served from static/vendor)."""
    return render_template("api/docs.html", swagger_ui=SWAGGER_UI)
