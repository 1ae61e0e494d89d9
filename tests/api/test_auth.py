"""Bearer keys: who gets in, in which workspace, with which scope; limits, suspension, no session."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import ApiKey, Tenant
from models.tenancy import current_tenant_id_or_none, tenant_scope
from services.api_keys import revoke_key
from tests.api.conftest import ApiClient, problem_of
from tests.factories import make_contact


def test_no_key_a_bad_key_and_a_foreign_scheme_are_401(client, api):
    for headers in ({}, {"Authorization": "Bearer mh_nope"}, {"Authorization": f"Basic {api.key}"},
                    {"Authorization": "Bearer " + api.key[:-1]}):
        response = client.get("/api/v1/contacts", headers=headers)
        problem_of(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get("/contacts").status_code == 200


def test_a_revoked_key_is_401(app, api):
    assert api.get("/contacts").status_code == 200
    with app.app_context(), tenant_scope(api.tenant_id):
        revoke_key(db.session.scalar(select(ApiKey)))
        db.session.commit()
    problem_of(api.get("/contacts"), 401)


def test_a_read_key_reads_but_cannot_write(app, api, make_key):
    reader = ApiClient(app.test_client(), make_key(api.user, scopes=["read"]), api.tenant_id)
    assert reader.get("/contacts").status_code == 200
    body = problem_of(reader.post("/contacts", json={"name": "Ann", "phone": "+14155550100"}), 403)
    assert "write" in body["detail"]
    assert api.get("/contacts").get_json()["items"] == []


def test_a_key_acts_in_its_own_workspace_only(app, api, other_api):
    with app.app_context(), tenant_scope(other_api.tenant_id):
        theirs = make_contact(name="Theirs")
        db.session.commit()
        their_id = theirs.id
    assert api.get("/contacts").get_json()["items"] == []
    assert [c["name"] for c in other_api.get("/contacts").get_json()["items"]] == ["Theirs"]
    problem_of(api.get(f"/contacts/{their_id}"), 404)


def test_a_suspended_workspace_is_refused(app, api):
    with app.app_context():
        db.session.get(Tenant, api.tenant_id).status = Tenant.SUSPENDED
        db.session.commit()
    assert "suspended" in problem_of(api.get("/contacts"), 403)["detail"]


def test_suspension_and_revocation_apply_from_the_next_request(app, api):
    assert api.get("/contacts").status_code == 200  # the process now knows the key's workspace
    with app.app_context():
        db.session.get(Tenant, api.tenant_id).status = Tenant.SUSPENDED
        db.session.commit()
    problem_of(api.get("/contacts"), 403)
    with app.app_context():
        db.session.get(Tenant, api.tenant_id).status = Tenant.ACTIVE
        db.session.commit()
    assert api.get("/contacts").status_code == 200
    with app.app_context(), tenant_scope(api.tenant_id):
        revoke_key(db.session.scalar(select(ApiKey)))
        db.session.commit()
    problem_of(api.get("/contacts"), 401)


def test_a_deleted_key_is_401_though_the_process_knew_its_workspace(app, api):
    assert api.get("/contacts").status_code == 200
    with app.app_context(), tenant_scope(api.tenant_id):
        db.session.delete(db.session.scalar(select(ApiKey)))
        db.session.commit()
    problem_of(api.get("/contacts"), 401)


def test_a_known_key_and_its_workspace_are_read_in_one_statement(app, api):
    from sqlalchemy import event

    assert api.get("/tags").status_code == 200
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.get("/tags").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    touching = [s for s in seen if "api_keys" in s or "tenants" in s]
    assert len(touching) == 1 and "JOIN tenants" in touching[0], touching


def test_a_session_cookie_does_not_choose_the_workspace(app, client, login, api, other_api):
    login(other_api.user)  # the browser is signed in to the other workspace
    response = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 200
    response = client.post("/api/v1/contacts", json={"name": "Mine", "phone": "+14155550111"},
                           headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 201  # no CSRF token needed
    assert [c["name"] for c in api.get("/contacts").get_json()["items"]] == ["Mine"]
    assert other_api.get("/contacts").get_json()["items"] == []
    # No key: the signed-in session is no way in.
    problem_of(client.get("/api/v1/contacts"), 401)
    # Both scopes (the session's, then the key's) were left when the request ended: nothing leaks to the thread.
    client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {api.key}"})
    assert current_tenant_id_or_none() is None


def test_an_api_request_sets_no_cookie(api):
    response = api.get("/contacts")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_last_used_is_recorded(app, api):
    with app.app_context(), tenant_scope(api.tenant_id):
        assert db.session.scalar(select(ApiKey)).last_used_at is None
    api.get("/contacts")
    with app.app_context(), tenant_scope(api.tenant_id):
        assert db.session.scalar(select(ApiKey)).last_used_at is not None


def test_unknown_api_paths_are_problem_404s(api):
    problem_of(api.get("/no-such-thing"), 404)
    problem_of(api.post("/tags/12/nothing", json={}), 404)


def test_a_wrong_method_is_a_problem_405(api):
    problem_of(api.patch("/tags", json={}), 405)


def test_rate_limits_answer_429_with_retry_after(make_app, create_user, make_key):
    app = make_app(API_LIMIT_PER_KEY="3 per minute", API_LIMIT_PER_WORKSPACE="5 per minute")
    with app.app_context():
        app.extensions["messagehub.redis"].flushdb()
    user = create_user(tenant_name="Busy")
    first = ApiClient(app.test_client(), make_key(user, name="one"), user.tenant_id)
    second = ApiClient(app.test_client(), make_key(user, name="two"), user.tenant_id)
    assert [first.get("/tags").status_code for _ in range(3)] == [200, 200, 200]
    refused = first.get("/tags")
    problem_of(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # The other key has its own allowance, until the workspace's (5) is used up.
    assert [second.get("/tags").status_code for _ in range(2)] == [200, 200]
    problem_of(second.get("/tags"), 429)
    assert int(second.get("/tags").headers["Retry-After"]) > 0
