"""Secrets at rest: encrypted, never rendered, rotatable."""
from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import text

from extensions import db
from models.tenancy import unscoped
from tests.channels.conftest import APP_SECRET, TOKEN
from tests.channels.helpers import channel_of


def raw_channel_columns(app):
    with app.app_context(), unscoped():
        return db.session.execute(text(
            "SELECT access_token, app_secret, verify_token, webhook_token, instance_token FROM channels")).all()


def test_no_secret_in_plaintext_anywhere_in_the_database(app, cloud_tenant):
    channel = channel_of(app, cloud_tenant.tenant_id)
    with app.app_context(), unscoped():
        dump = []
        for table in db.metadata.sorted_tables:
            dump += [str(row) for row in db.session.execute(text(f"SELECT * FROM {table.name}"))]
    blob = "\n".join(dump)
    for secret in (TOKEN, APP_SECRET, channel.verify_token, channel.webhook_token):
        assert secret not in blob


def test_no_secret_in_any_page(app, client, cloud_tenant):
    for url in ("/settings/whatsapp", "/settings/", "/contacts/", "/tags/"):
        page = client.get(url).get_data(as_text=True)
        assert TOKEN not in page and APP_SECRET not in page


def test_rotation_keeps_every_secret_readable(make_app, app, cloud_tenant):
    old_key = app.config["ENCRYPTION_KEYS"][0]
    before = raw_channel_columns(app)
    new_key = Fernet.generate_key().decode()
    rotated_app = make_app(ENCRYPTION_KEYS=[new_key, old_key])
    result = rotated_app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "Re-encrypted 4 secret" in result.output
    after = raw_channel_columns(app)
    assert before != after
    # Readable with the new key alone: the old key can be retired.
    new_only = make_app(ENCRYPTION_KEYS=[new_key])
    channel = channel_of(new_only, cloud_tenant.tenant_id)
    assert channel.access_token == TOKEN and channel.app_secret == APP_SECRET
    # And the old key alone can no longer read them.
    old_only = make_app(ENCRYPTION_KEYS=[old_key])
    import pytest

    from models.types import SecretUnreadable

    with pytest.raises(SecretUnreadable):
        channel_of(old_only, cloud_tenant.tenant_id)
