"""API fixtures: workspaces with keys, and a client that sends a bearer key."""
from __future__ import annotations

import pytest

from extensions import db
from models.tenancy import tenant_scope
from services.api_keys import create_key


class ApiClient:
    """The app's test client sending `Authorization: Bearer <key>` and JSON."""

    def __init__(self, client, key: str, tenant_id: int):
        self.client, self.key, self.tenant_id = client, key, tenant_id

    def _call(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self._call("GET", path, **kw)

    def post(self, path, **kw):
        return self._call("POST", path, **kw)

    def patch(self, path, **kw):
        return self._call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self._call("DELETE", path, **kw)


@pytest.fixture
def make_key(app):
    """Factory: a key of `user`'s workspace with `scopes`; returns the key itself."""

    def factory(user, scopes=("read", "write"), name="Integration") -> str:
        with app.app_context(), tenant_scope(user.tenant_id):
            _row, secret = create_key(name, list(scopes), user.id)
            db.session.commit()
        return secret

    return factory


@pytest.fixture
def api(app, create_user, make_key):
    """A workspace with a read and write key, and a client using it."""
    user = create_user(tenant_name="API Shop")
    client = ApiClient(app.test_client(), make_key(user), user.tenant_id)
    client.user = user
    return client


@pytest.fixture
def other_api(app, create_user, make_key):
    """A second workspace with its own key."""
    user = create_user(tenant_name="Other Shop")
    client = ApiClient(app.test_client(), make_key(user), user.tenant_id)
    client.user = user
    return client


def problem_of(response, status: int) -> dict:
    """The problem body of a refused request, after checking its status and media type."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    return body


def fields_of(body: dict) -> dict:
    """field -> message of a problem's `errors`."""
    return {item["field"]: item["message"] for item in body.get("errors") or []}
