"""Command-line tools."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Contact, User
from models.tenancy import tenant_scope


def test_create_admin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "root@example.com", "--password", "very-secret-99"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "root@example.com"))
        assert user.is_admin and user.password_hash.startswith("$argon2id$")
    again = runner.invoke(args=["create-admin", "root@example.com", "--password", "very-secret-99"])
    assert again.exit_code != 0 and "already exists" in again.output
    weak = runner.invoke(args=["create-admin", "weak@example.com", "--password", "short"])
    assert weak.exit_code != 0 and "at least 10" in weak.output


def test_seed_demo_is_idempotent_and_prints_logins(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@messagehub.local" in first.output and "demo@messagehub.local" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and second.output == first.output
    email, password = [line.split() for line in first.output.splitlines() if line.startswith("demo@")][0]
    assert client.post("/login", data={"email": email, "password": password}).status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        with tenant_scope(user.tenant_id):
            assert db.session.scalar(select(func.count(Contact.id))) == 5
