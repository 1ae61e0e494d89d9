"""A fake Evolution API v2 gateway over real loopback HTTP, with QR linking and webhooks.

Instances live in memory. `connect` hands out a fresh QR `code` each call, and the
test drives the phone side with `simulate_scan`, `post_inbound` and `post_status`,
which POST Evolution-shaped webhooks to the instance's configured URL.
"""
from __future__ import annotations

import base64
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

import httpx

from .server import FakeServer, RecordedRequest, Reply

SEND_ENDPOINTS = {"sendText", "sendMedia", "sendWhatsAppAudio", "sendSticker"}
MEDIA_TYPES = {"image", "video", "document", "audio"}


@dataclass
class FakeInstance:
    """One linked (or linkable) WhatsApp session."""

    name: str
    token: str
    instance_id: str
    webhook: dict[str, Any] | None
    state: str = "close"
    qr_code: str | None = None
    qr_count: int = 0
    owner_jid: str | None = None
    profile_name: str | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)


def evolution_error(status: int, message: Any) -> dict[str, Any]:
    """An Evolution-style error body."""
    messages = message if isinstance(message, list) else [message]
    return {"status": status, "error": HTTPStatus(status).phrase, "response": {"message": messages}}


def new_qr_code() -> str:
    """A string shaped like the Baileys pairing QR payload."""
    parts = [base64.b64encode(secrets.token_bytes(n)).decode() for n in (24, 32, 32, 16)]
    return "2@" + ",".join(parts)


class FakeGateway(FakeServer):
    """The Evolution endpoints GatewayProvider uses, plus phone-side simulation helpers."""

    def __init__(self, api_key: str = "gateway-global-key", *, latency: float = 0.0):
        super().__init__(latency=latency)
        self.api_key = api_key
        self.instances: dict[str, FakeInstance] = {}
        self.not_on_whatsapp: set[str] = set()   # numbers sends are refused for
        self.webhook_on_rotation = False          # also POST qrcode.updated when connect rotates
        self.deliveries: list[tuple[str, dict[str, Any], int | None]] = []
        self._poster = httpx.Client(timeout=2.0, trust_env=False)

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        self._poster.close()

    def error_body(self, status: int, error_code: int | None, extra: dict[str, Any]) -> Any:
        """Injected failures look like Evolution's error bodies."""
        return evolution_error(status, extra.get("message", HTTPStatus(status).phrase))

    # -- phone-side simulation -----------------------------------------------------

    def simulate_scan(self, instance: str, number: str = "15551234567", name: str = "Test Phone") -> dict[str, Any]:
        """The user scanned the QR: the instance opens and a connection.update webhook is sent."""
        inst = self.instances[instance]
        inst.state, inst.qr_code = "open", None
        inst.owner_jid, inst.profile_name = f"{number}@s.whatsapp.net", name
        return self._post(inst, "connection.update", {
            "instance": inst.name, "wuid": inst.owner_jid, "profileName": name,
            "profilePictureUrl": None, "state": "open", "statusReason": 200})

    def simulate_logout(self, instance: str) -> dict[str, Any]:
        """The user unlinked the device from their phone."""
        inst = self.instances[instance]
        inst.state = "close"
        return self._post(inst, "connection.update",
                          {"instance": inst.name, "state": "close", "statusReason": 401})

    def rotate_qr(self, instance: str, *, post_webhook: bool = True) -> str:
        """Replace the QR code (as WhatsApp does every ~20s); optionally announce it."""
        inst = self.instances[instance]
        inst.state, inst.qr_code = "connecting", new_qr_code()
        inst.qr_count += 1
        if post_webhook:
            self._post(inst, "qrcode.updated", {"qrcode": {
                "instance": inst.name, "pairingCode": None, "code": inst.qr_code,
                "base64": "data:image/png;base64,iVBORw0KGgo="}})
        return inst.qr_code

    def post_inbound(self, instance: str, from_number: str, text: str, *, push_name: str = "Customer",
                     message_id: str | None = None) -> dict[str, Any]:
        """A customer sent a text: POST a messages.upsert webhook."""
        inst = self.instances[instance]
        return self._post(inst, "messages.upsert", {
            "key": {"remoteJid": f"{from_number}@s.whatsapp.net", "fromMe": False,
                    "id": message_id or _message_id()},
            "pushName": push_name, "status": "DELIVERY_ACK",
            "message": {"conversation": text}, "messageType": "conversation",
            "messageTimestamp": int(time.time()), "instanceId": inst.instance_id, "source": "android"})

    def post_status(self, instance: str, message_id: str, status: str = "DELIVERY_ACK", *,
                    to_number: str = "15551234567") -> dict[str, Any]:
        """WhatsApp acknowledged one of our sends: POST a messages.update webhook."""
        inst = self.instances[instance]
        return self._post(inst, "messages.update", {
            "messageId": secrets.token_hex(12), "keyId": message_id,
            "remoteJid": f"{to_number}@s.whatsapp.net", "fromMe": True, "participant": None,
            "status": status, "instanceId": inst.instance_id})

    def _post(self, inst: FakeInstance, event: str, data: dict[str, Any]) -> dict[str, Any]:
        url = (inst.webhook or {}).get("url")
        body = {"event": event, "instance": inst.name, "data": data, "destination": url,
                "date_time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "sender": inst.owner_jid, "server_url": self.url, "apikey": inst.token}
        status = None
        if url:
            try:
                status = self._poster.post(url, json=body).status_code
            except httpx.TransportError:
                status = None   # the app was down; Evolution only logs this too
        self.deliveries.append((url, body, status))
        return body

    # -- REST API ------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        """Authenticate the apikey header, then dispatch."""
        parts = request.path.strip("/").split("/")
        key = request.headers.get("apikey")
        target = parts[2] if len(parts) > 2 else request.query.get("instanceName")
        inst = self.instances.get(target) if target else None
        if key != self.api_key and not (inst is not None and key == inst.token and parts[:2] != ["instance", "create"]):
            return 401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}, {}
        if parts[:2] == ["instance", "create"] and request.method == "POST":
            return self._create(request.json or {})
        if parts[:2] == ["instance", "fetchInstances"] and request.method == "GET":
            chosen = [inst] if inst else ([] if target else list(self.instances.values()))
            return 200, [self._describe(i) for i in chosen], {}
        if len(parts) != 3:
            return 404, evolution_error(404, "Cannot " + request.method + " " + request.path), {}
        if inst is None:
            return 404, evolution_error(404, f'The "{target}" instance does not exist'), {}
        action = (parts[0], parts[1], request.method)
        if action == ("instance", "connect", "GET"):
            return self._connect(inst)
        if action == ("instance", "connectionState", "GET"):
            return 200, {"instance": {"instanceName": inst.name, "state": inst.state}}, {}
        if action == ("instance", "logout", "DELETE"):
            if inst.state == "close":
                return 400, evolution_error(400, f'The "{inst.name}" instance is not connected'), {}
            inst.state, inst.qr_code = "close", None
            return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}, {}
        if action == ("instance", "delete", "DELETE"):
            if inst.state == "open":
                return 400, evolution_error(400, f'The "{inst.name}" instance needs to be disconnected'), {}
            del self.instances[inst.name]
            return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}, {}
        if parts[0] == "message" and parts[1] in SEND_ENDPOINTS and request.method == "POST":
            return self._send(inst, parts[1], request.json)
        return 404, evolution_error(404, "Cannot " + request.method + " " + request.path), {}

    def _create(self, body: dict[str, Any]) -> Reply:
        name = body.get("instanceName")
        if not name or not re.fullmatch(r"[\w.-]+", str(name)):
            return 400, evolution_error(400, "instanceName is required"), {}
        if body.get("integration") not in ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", None):
            return 400, evolution_error(400, "Invalid integration"), {}
        if name in self.instances:
            return 403, evolution_error(403, f'This name "{name}" is already in use.'), {}
        webhook = body.get("webhook")
        if webhook is not None and (not isinstance(webhook, dict) or not webhook.get("url")):
            return 400, evolution_error(400, 'Invalid "url" property'), {}
        inst = FakeInstance(name=name, token=body.get("token") or str(uuid.uuid4()).upper(),
                            instance_id=str(uuid.uuid4()), webhook=webhook)
        self.instances[name] = inst
        if body.get("qrcode"):
            self.rotate_qr(name, post_webhook=False)
        return 201, {"instance": {"instanceName": name, "instanceId": inst.instance_id,
                                  "integration": body.get("integration") or "WHATSAPP-BAILEYS",
                                  "status": "created"},
                     "hash": inst.token,
                     "webhook": {"webhookUrl": (webhook or {}).get("url"),
                                 "webhookByEvents": (webhook or {}).get("byEvents", False),
                                 "webhookBase64": (webhook or {}).get("base64", False)},
                     "qrcode": self._qr(inst)}, {}

    def _connect(self, inst: FakeInstance) -> Reply:
        if inst.state == "open":
            return 200, {"instance": {"instanceName": inst.name, "state": "open"}}, {}
        self.rotate_qr(inst.name, post_webhook=self.webhook_on_rotation)
        return 200, self._qr(inst), {}

    def _send(self, inst: FakeInstance, endpoint: str, body: Any) -> Reply:
        if not isinstance(body, dict) or not re.fullmatch(r"\d{6,20}", str(body.get("number") or "")):
            return 400, evolution_error(400, "number is required and must contain only digits"), {}
        number = body["number"]
        if number in self.not_on_whatsapp:
            return 400, evolution_error(400, [{"exists": False, "jid": f"{number}@s.whatsapp.net",
                                                "number": number}]), {}
        required = {"sendText": "text", "sendMedia": "media", "sendWhatsAppAudio": "audio",
                    "sendSticker": "sticker"}[endpoint]
        if not body.get(required):
            return 400, evolution_error(400, f"{required} is required"), {}
        if endpoint == "sendMedia" and body.get("mediatype") not in MEDIA_TYPES:
            return 400, evolution_error(400, "mediatype must be one of image, video, document, audio"), {}
        message_id = _message_id()
        inst.sent.append({"endpoint": endpoint, "id": message_id, **body})
        return 201, {"key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": message_id},
                     "pushName": "", "status": "PENDING", "message": {"conversation": body.get("text")},
                     "messageType": "conversation" if endpoint == "sendText" else f"{body.get('mediatype', 'media')}Message",
                     "messageTimestamp": int(time.time()), "instanceId": inst.instance_id, "source": "unknown"}, {}

    @staticmethod
    def _qr(inst: FakeInstance) -> dict[str, Any]:
        return {"pairingCode": None, "code": inst.qr_code,
                "base64": "data:image/png;base64,iVBORw0KGgo=" if inst.qr_code else None,
                "count": inst.qr_count}

    @staticmethod
    def _describe(inst: FakeInstance) -> dict[str, Any]:
        return {"id": inst.instance_id, "name": inst.name, "connectionStatus": inst.state,
                "ownerJid": inst.owner_jid, "profileName": inst.profile_name, "profilePicUrl": None,
                "integration": "WHATSAPP-BAILEYS", "number": None, "token": inst.token}


def _message_id() -> str:
    return "3EB0" + secrets.token_hex(8).upper()
