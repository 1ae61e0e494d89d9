"""Schemathesis against the served OpenAPI document, over real HTTP with a real key: no server errors, and every
answer (status, media type, body, headers) is one the document declares."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from extensions import db
from models.tenancy import tenant_scope
from tests.factories import make_contact, make_tag

# A few examples per operation keep the whole run to seconds.
MAX_EXAMPLES = 12


def test_the_api_keeps_its_document(app, live_server, create_user, make_key):
    user = create_user(tenant_name="Fuzzed")
    with app.app_context(), tenant_scope(user.tenant_id):
        make_tag("vip")
        for n in range(3):
            make_contact(name=f"Fuzz {n}")
        db.session.commit()
    app.config["API_LIMIT_PER_KEY"] = app.config["API_LIMIT_PER_WORKSPACE"] = "100000 per minute"
    headers = {"Authorization": f"Bearer {make_key(user)}"}
    schema = schemathesis.openapi.from_url(f"{live_server}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            # Every other built-in check runs. This one expects any schema-valid request to succeed, but domain rules
            # (a dialable phone, a tag that exists, a template that is approved) are not JSON Schema: the
            # refusals they cause are the documented 409s and 422s, which the other checks hold to the document.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
