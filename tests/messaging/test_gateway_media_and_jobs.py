"""Linked-device media both ways, the daily template sync, and schema drift."""
from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from extensions import db
from models import Contact, MessageTemplate
from models.tenancy import tenant_scope
from services.outbox import queue_media
from tests.channels.helpers import channel_of, messages_of
from tests.messaging.conftest import WABA_ID

ROOT = Path(__file__).resolve().parents[2]


def link_gateway(app, client, create_user, login, gateway, run_jobs):
    user = create_user()
    login(user)
    assert client.post("/settings/whatsapp/qr").status_code == 303
    name = channel_of(app, user.tenant_id).instance_name
    gateway.simulate_scan(name)
    run_jobs()
    return user, name


def queue_file(app, user, data: bytes, filename: str, caption: str = ""):
    with app.app_context(), tenant_scope(user.tenant_id):
        contact = Contact(name="Doc", phone="+14155550200")
        db.session.add(contact)
        db.session.flush()
        queue_media(contact, data, filename, "application/pdf", caption)
        db.session.commit()


def test_small_gateway_media_goes_out_inline(app, live_server, client, create_user, login, gateway, run_jobs):
    user, name = link_gateway(app, client, create_user, login, gateway, run_jobs)
    queue_file(app, user, b"%PDF-1.4 invoice", "invoice.pdf", "Your invoice")
    run_jobs()
    [message] = messages_of(app, user.tenant_id)
    assert message.status == "sent"
    sent = gateway.instances[name].sent[-1]
    assert sent["mediatype"] == "document" and sent["fileName"] == "invoice.pdf"
    assert base64.b64decode(sent["media"]) == b"%PDF-1.4 invoice"


def test_large_gateway_media_goes_out_as_a_short_lived_signed_link(app, live_server, client, create_user, login,
                                                                   gateway, run_jobs):
    user, name = link_gateway(app, client, create_user, login, gateway, run_jobs)
    big = b"%PDF-1.4 " + bytes(9 * 1024 * 1024)
    queue_file(app, user, big, "catalogue.pdf")
    run_jobs()
    [message] = messages_of(app, user.tenant_id)
    assert message.status == "sent"
    sent = gateway.instances[name].sent[-1]
    assert sent["mediatype"] == "document" and sent["fileName"] == "catalogue.pdf"
    link = sent["media"]
    assert link.startswith(f"{live_server}/m/")
    fetched = httpx.get(link)
    assert fetched.status_code == 200 and fetched.content == big
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(link[:-3] + "abc").status_code == 404  # tampered


def test_gateway_inbound_media_is_stored_from_its_base64_copy(app, live_server, client, create_user, login, gateway,
                                                              run_jobs):
    user, name = link_gateway(app, client, create_user, login, gateway, run_jobs)
    token = channel_of(app, user.tenant_id).webhook_token
    body = {"event": "messages.upsert", "instance": name, "data": {
        "key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": False, "id": "3EB0IMG"},
        "pushName": "Carla", "messageType": "imageMessage", "messageTimestamp": 1767225600,
        "message": {"imageMessage": {"mimetype": "image/jpeg", "caption": "the damage"},
                    "base64": base64.b64encode(b"\xff\xd8\xff photo").decode()}}}
    assert app.test_client().post(f"/webhooks/gateway/{token}", json=body).status_code == 200
    run_jobs()
    run_jobs()
    [message] = messages_of(app, user.tenant_id)
    assert message.type == "image" and message.media["size"] == len(b"\xff\xd8\xff photo")
    assert (Path(app.instance_path) / "media" / message.media["path"]).read_bytes() == b"\xff\xd8\xff photo"


def test_daily_template_sync_covers_connected_cloud_tenants(app, client, cloud_connected, graph):
    from jobs.templates import sync_all_templates

    graph.add_template(WABA_ID, "welcome", "es", components=[{"type": "BODY", "text": "Hola {{1}}"}])
    assert sync_all_templates() == 1
    with app.app_context(), tenant_scope(cloud_connected.tenant_id):
        [template] = db.session.scalars(select(MessageTemplate)).all()
        assert (template.name, template.language, template.variable_count) == ("welcome", "es", 1)


def test_models_and_migrations_agree(app):
    """`flask db check`: every model change has its migration."""
    config = app.config
    env = {"PATH": str(Path(sys.executable).parent), "FLASK_APP": "app:create_app",
           "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"],
           "MESSAGEHUB_INSTANCE": config["MESSAGEHUB_INSTANCE"], "SECRET_KEY": config["SECRET_KEY"],
           "MESSAGEHUB_ENCRYPTION_KEYS": ",".join(config["ENCRYPTION_KEYS"])}
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "db", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr
