"""A fake Evolution API v2 gateway over real loopback HTTP, with QR linking and webhooks.

Instances live in memory. `connect` hands out a fresh QR `code` each call, and the
test drives the phone side with `simulate_scan`, `post_inbound` and `post_status`,
which POST Evolution-shaped webhooks to the instance's configured URL.

It keeps the real server's (v2.3.x) habits that break clients: webhooks only for the
subscribed events, the whole inbound file in the body when `base64` is on, `date_time`
in the server's local time labelled as UTC, 404 for an unknown instance before the key
is checked, and media links refused unless class-validator's `isURL` accepts them.
"""
from __future__ import annotations

import base64
import ipaddress
import mimetypes
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import httpx

from .server import FakeServer, RecordedRequest, Reply

SEND_ENDPOINTS = {"sendText", "sendMedia", "sendWhatsAppAudio", "sendSticker"}
MEDIA_TYPES = {"image", "video", "document", "audio"}
# EventController.events: what a webhook may subscribe to.
EVENTS = ["APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED",
          "MESSAGES_UPDATE", "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET",
          "CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT", "CHATS_UPDATE",
          "CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE", "GROUP_PARTICIPANTS_UPDATE", "CONNECTION_UPDATE",
          "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START", "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE",
          "LOGOUT_INSTANCE", "INSTANCE_CREATE", "INSTANCE_DELETE", "STATUS_INSTANCE"]
# TypeMediaMessage: the message kinds getBase64FromMediaMessage can download.
DOWNLOADABLE = ("imageMessage", "documentMessage", "audioMessage", "videoMessage", "stickerMessage", "ptvMessage")
MEDIA_MESSAGE = {"image": "imageMessage", "video": "videoMessage", "document": "documentMessage",
                 "audio": "audioMessage", "sticker": "stickerMessage"}
# Evolution's QRCODE_LIMIT default: codes offered before it gives up with "refused".
QR_LIMIT = 30


@dataclass
class FakeInstance:
    """One linked (or linkable) WhatsApp session."""

    name: str
    token: str
    instance_id: str
    webhook: dict[str, Any] | None         # the stored row: enabled, url, events, byEvents, base64, headers
    state: str = "close"
    qr_code: str | None = None
    qr_count: int = 0
    owner_jid: str | None = None
    profile_name: str | None = None
    # Evolution reads the base64 flag when the session (re)connects, not on every event.
    loaded_base64: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)   # its Message table, by key id


def evolution_error(status: int, message: Any) -> dict[str, Any]:
    """An Evolution-style error body."""
    messages = message if isinstance(message, list) else [message]
    return {"status": status, "error": HTTPStatus(status).phrase, "response": {"message": messages}}


def new_qr_code() -> str:
    """A string shaped like the Baileys pairing QR payload."""
    parts = [base64.b64encode(secrets.token_bytes(n)).decode() for n in (24, 32, 32, 16)]
    return "2@" + ",".join(parts)


def is_url(value: Any) -> bool:
    """validator.js `isURL` with its default options, as class-validator calls it."""
    if not isinstance(value, str) or not value or re.search(r"[\s<>]", value) or value.startswith("mailto:"):
        return False
    if len(value) > 2083:
        return False
    url = value.split("#", 1)[0].split("?", 1)[0]
    if "://" not in url or url.split("://", 1)[0].lower() not in ("http", "https", "ftp"):
        return False
    url = url.split("://", 1)[1]
    hostname = url.split("/", 1)[0]
    if "@" in hostname:
        auth, hostname = hostname.rsplit("@", 1)
        if not auth or len(auth.split(":")) > 2:
            return False
    ipv6 = re.fullmatch(r"\[([^\]]+)\](?::([0-9]+))?", hostname)
    if ipv6:
        host, port = "", ipv6.group(2)
    else:
        host, _, port = hostname.partition(":")
        port = port or None
    if port is not None and (not re.fullmatch(r"[0-9]+", port) or not 0 < int(port) <= 65535):
        return False
    if ipv6:
        return _is_ip(ipv6.group(1))
    return _is_ip(host) or _is_fqdn(host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_fqdn(host: str) -> bool:
    """validator.js `isFQDN` defaults: a TLD is required, no underscores, no trailing dot."""
    parts = host.split(".")
    tld = parts[-1]
    if len(parts) < 2 or not re.fullmatch(r"(?:[a-z\u00a1-\u00a8\u00aa-\ud7ff\uf900-\ufdcf\ufdf0-\uffef]{2,}"
                                          r"|xn[a-z0-9-]{2,})", tld, re.IGNORECASE):
        return False
    return all(len(part) <= 63 and re.fullmatch(r"[a-z_\u00a1-\uffff0-9-]+", part, re.IGNORECASE)
               and not re.search(r"[\uff01-\uff5e]", part) and not re.search(r"^-|-$", part) and "_" not in part
               for part in parts)


def is_base64(value: Any) -> bool:
    """validator.js `isBase64` (standard alphabet, padding only at the end)."""
    if not isinstance(value, str) or len(value) % 4 or re.search(r"[^A-Z0-9+/=]", value, re.IGNORECASE):
        return False
    first_pad = value.find("=")
    return first_pad in (-1, len(value) - 1) or (first_pad == len(value) - 2 and value[-1] == "=")


def _indexed(data: bytes) -> dict[str, int]:
    """How a Baileys Uint8Array comes out of JSON.stringify."""
    return {str(i): b for i, b in enumerate(data)}


def _bytes_of(value: Any) -> bytes | None:
    if isinstance(value, dict):
        return bytes(int(v) for _, v in sorted(value.items(), key=lambda kv: int(kv[0])))
    if isinstance(value, str):
        return base64.b64decode(value)
    return None


class FakeGateway(FakeServer):
    """The Evolution endpoints GatewayProvider uses, plus phone-side simulation helpers."""

    def __init__(self, api_key: str = "gateway-global-key", *, latency: float = 0.0,
                 utc_offset: timedelta = timedelta(hours=-3)):
        super().__init__(latency=latency)
        self.api_key = api_key
        self.instances: dict[str, FakeInstance] = {}
        self.not_on_whatsapp: set[str] = set()   # numbers sends are refused for
        self.webhook_on_rotation = False          # also POST connecting + qrcode.updated when connect rotates
        self.utc_offset = utc_offset              # the gateway host's time zone (São Paulo by default)
        self.saves_messages = True                # DATABASE_SAVE_DATA_NEW_MESSAGE
        self.deliveries: list[tuple[str, dict[str, Any], int | None]] = []
        self.cdn: dict[str, tuple[bytes, bytes]] = {}   # WhatsApp's media servers: directPath -> (mediaKey, bytes)
        self._poster = httpx.Client(timeout=5.0, trust_env=False)

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

    def simulate_connecting(self, instance: str) -> dict[str, Any]:
        """The session (re)connects: sent with every new QR, after a scan and on every reconnect."""
        inst = self.instances[instance]
        inst.loaded_base64 = bool((inst.webhook or {}).get("base64"))
        if inst.state != "open":
            inst.state = "connecting"
        return self._post(inst, "connection.update", {"instance": inst.name, "state": "connecting",
                                                      "statusReason": 200})

    def simulate_qr_limit(self, instance: str) -> list[dict[str, Any]]:
        """Nobody scanned QR_LIMIT codes: the limit notice, "refused", and the session closes."""
        inst = self.instances[instance]
        notice = self._post(inst, "qrcode.updated", {"message": "QR code limit reached, please login again",
                                                     "statusCode": 500})
        refused = self._post(inst, "connection.update", {
            "instance": inst.name, "state": "refused", "statusReason": 428, "wuid": None,
            "profileName": None, "profilePictureUrl": None})
        inst.state, inst.qr_code, inst.qr_count = "close", None, 0
        return [notice, refused]

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
                     message_id: str | None = None, lid: str | None = None) -> dict[str, Any]:
        """A customer sent a text: POST a messages.upsert webhook (from a privacy `lid` chat if given)."""
        inst = self.instances[instance]
        return self._upsert(inst, self._key(from_number, message_id, lid), push_name,
                            {"conversation": text}, "conversation")

    def post_inbound_media(self, instance: str, from_number: str, kind: str, data: bytes, *, mimetype: str,
                           caption: str | None = None, file_name: str | None = None, push_name: str = "Customer",
                           message_id: str | None = None, lid: str | None = None) -> dict[str, Any]:
        """A customer sent a file: it goes to WhatsApp's servers encrypted, the upsert carries its key.

        With the webhook's `base64` on (as loaded at connect), the whole file rides in the body too.
        """
        inst = self.instances[instance]
        media_key, direct_path = secrets.token_bytes(32), f"/v/t62.7161-24/{secrets.token_hex(12)}.enc"
        self.cdn[direct_path] = (media_key, data)
        body: dict[str, Any] = {
            "url": f"https://mmg.whatsapp.net{direct_path}?ccb=11-4", "mimetype": mimetype,
            "fileSha256": _indexed(secrets.token_bytes(32)), "fileLength": {"low": len(data), "high": 0,
                                                                            "unsigned": True},
            "mediaKey": _indexed(media_key), "fileEncSha256": _indexed(secrets.token_bytes(32)),
            "directPath": direct_path, "mediaKeyTimestamp": {"low": int(time.time()), "high": 0, "unsigned": False},
            "jpegThumbnail": _indexed(secrets.token_bytes(64)), "contextInfo": {}}
        if caption:
            body["caption"] = caption
        if kind == "document":
            body["fileName"] = file_name or "file"
        if kind == "audio":
            body["ptt"] = True
        message: dict[str, Any] = {MEDIA_MESSAGE[kind]: body}
        if inst.loaded_base64 and (inst.webhook or {}).get("enabled"):
            message["base64"] = base64.b64encode(data).decode()
        return self._upsert(inst, self._key(from_number, message_id, lid), push_name, message, MEDIA_MESSAGE[kind])

    def post_status(self, instance: str, message_id: str, status: str = "DELIVERY_ACK", *,
                    to_number: str = "15551234567") -> dict[str, Any] | None:
        """WhatsApp acknowledged one of our sends: POST a messages.update webhook.

        Like Evolution with its message store on, a receipt for a message it has no copy of is
        dropped ("Original message not found for update"): None is returned and nothing is posted.
        """
        inst = self.instances[instance]
        data = {"keyId": message_id, "remoteJid": f"{to_number}@s.whatsapp.net", "fromMe": True,
                "participant": None, "status": status, "instanceId": inst.instance_id}
        if self.saves_messages:
            stored = inst.stored.get(message_id)
            if stored is None:
                return None
            data["messageId"] = stored["id"]
        return self._post(inst, "messages.update", data)

    @staticmethod
    def _key(number: str, message_id: str | None, lid: str | None) -> dict[str, Any]:
        jid = f"{number}@s.whatsapp.net"
        if lid:
            return {"remoteJid": f"{lid}@lid", "remoteJidAlt": jid, "fromMe": False,
                    "id": message_id or _message_id(), "addressingMode": "lid"}
        return {"remoteJid": jid, "fromMe": False, "id": message_id or _message_id()}

    def _upsert(self, inst: FakeInstance, key: dict[str, Any], push_name: str, message: dict[str, Any],
                message_type: str) -> dict[str, Any]:
        raw = {"key": key, "pushName": push_name, "status": "DELIVERY_ACK", "message": message,
               "messageType": message_type, "messageTimestamp": int(time.time()), "instanceId": inst.instance_id,
               "source": "android"}
        self._store(inst, raw)
        return self._post(inst, "messages.upsert", raw)

    def _store(self, inst: FakeInstance, raw: dict[str, Any]) -> None:
        if self.saves_messages:
            stored = {k: v for k, v in raw.items() if k != "message"}
            stored["message"] = {k: v for k, v in raw["message"].items() if k != "base64"}
            inst.stored[raw["key"]["id"]] = {"id": str(uuid.uuid4()), **stored}

    def _post(self, inst: FakeInstance, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """POST one event the way WebhookController.emit does; only subscribed events leave."""
        webhook = inst.webhook or {}
        name = re.sub(r"[.-]", "_", event).upper()
        url = webhook.get("url")
        if url and webhook.get("byEvents"):
            url = f"{url}/{name.replace('_', '-').lower()}"
        # ChannelStartupService.sendDataWebhook: local time, printed by toISOString with its "Z".
        local = datetime.now(UTC) + self.utc_offset
        body = {"event": event, "instance": inst.name, "data": data, "destination": url,
                "date_time": local.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "sender": inst.owner_jid, "server_url": self.url, "apikey": inst.token}
        status = None
        if url and webhook.get("enabled") and name in (webhook.get("events") or []):
            try:
                status = self._poster.post(url, json=body).status_code
            except httpx.TransportError:
                status = None   # the app was down; Evolution only logs this too
            self.deliveries.append((url, body, status))
        return body

    # -- REST API ------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        """Guards in Evolution's order: the instance must exist, then the apikey must match."""
        parts = request.path.strip("/").split("/")
        key = request.headers.get("apikey")
        if parts[:2] in (["instance", "create"], ["instance", "fetchInstances"]):
            # fetchInstances also takes any instance's token (with DATABASE_SAVE_DATA_INSTANCE on).
            tokens = {i.token for i in self.instances.values()} if parts[1] == "fetchInstances" else set()
            if key != self.api_key and key not in tokens:
                return 401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}, {}
            if parts[1] == "create" and request.method == "POST":
                return self._create(request.json or {})
            if parts[1] == "fetchInstances" and request.method == "GET":
                target = request.query.get("instanceName")
                chosen = [self.instances[target]] if target in self.instances else \
                    ([] if target else list(self.instances.values()))
                return 200, [self._describe(i) for i in chosen], {}
            return self._not_found(request)
        if len(parts) != 3:
            return self._not_found(request)
        inst = self.instances.get(parts[2])
        if inst is None:
            return 404, evolution_error(404, f'The "{parts[2]}" instance does not exist'), {}
        if key not in (self.api_key, inst.token):
            return 401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}, {}
        action = (parts[0], parts[1], request.method)
        if action == ("instance", "connect", "GET"):
            return self._connect(inst)
        if action == ("instance", "connectionState", "GET"):
            return 200, {"instance": {"instanceName": inst.name, "state": inst.state}}, {}
        if action == ("instance", "logout", "DELETE"):
            return self._logout(inst)
        if action == ("instance", "delete", "DELETE"):
            if inst.state in ("connecting", "open"):
                self._logout(inst)   # deleteInstance logs a live session out first
            del self.instances[inst.name]
            return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}, {}
        if action == ("webhook", "set", "POST"):
            return self._set_webhook(inst, request.json)
        if action == ("webhook", "find", "GET"):
            return 200, self._webhook_row(inst), {}
        if action == ("chat", "getBase64FromMediaMessage", "POST"):
            return self._base64_of(inst, request.json)
        if parts[0] == "message" and parts[1] in SEND_ENDPOINTS and request.method == "POST":
            return self._send(inst, parts[1], request.json)
        return self._not_found(request)

    @staticmethod
    def _not_found(request: RecordedRequest) -> Reply:
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
                            instance_id=str(uuid.uuid4()), webhook=None)
        if webhook is not None:
            # eventManager.setInstance: whatever was sent, the webhook is stored enabled.
            inst.webhook = self._webhook_values({**webhook, "enabled": True})
        inst.loaded_base64 = bool((inst.webhook or {}).get("base64"))
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

    @staticmethod
    def _webhook_values(webhook: dict[str, Any]) -> dict[str, Any]:
        # WebhookController.set: disabled means no events, enabled with none means all of them.
        events = list(webhook.get("events") or []) if webhook.get("enabled") else []
        if webhook.get("enabled") and not events:
            events = list(EVENTS)
        return {"enabled": bool(webhook.get("enabled")), "url": webhook.get("url"), "events": events,
                "byEvents": bool(webhook.get("byEvents")), "base64": bool(webhook.get("base64")),
                "headers": webhook.get("headers")}

    def _set_webhook(self, inst: FakeInstance, body: Any) -> Reply:
        webhook = body.get("webhook") if isinstance(body, dict) else None
        if not isinstance(webhook, dict):
            return 400, evolution_error(400, ['requires property "webhook"']), {}
        errors = [f'webhook requires property "{prop}"' for prop in ("enabled", "url") if prop not in webhook]
        if "enabled" in webhook and not isinstance(webhook["enabled"], bool):
            errors.append("webhook.enabled is not of a type(s) boolean")
        if "url" in webhook and (not isinstance(webhook["url"], str) or not webhook["url"]):
            errors.append('The "url" cannot be empty')
        for index, name in enumerate(webhook.get("events") or []):
            if name not in EVENTS:
                errors.append(f"webhook.events[{index}] is not one of enum values: " + ",".join(EVENTS))
        if errors:
            return 400, evolution_error(400, errors), {}
        inst.webhook = self._webhook_values(webhook)   # url and events apply at once; base64 at reconnect
        return 201, self._webhook_row(inst), {}

    @staticmethod
    def _webhook_row(inst: FakeInstance) -> dict[str, Any] | None:
        if inst.webhook is None:
            return None
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"id": inst.instance_id[:25], "url": inst.webhook["url"], "headers": inst.webhook["headers"],
                "enabled": inst.webhook["enabled"], "events": inst.webhook["events"],
                "webhookByEvents": inst.webhook["byEvents"], "webhookBase64": inst.webhook["base64"],
                "createdAt": now, "updatedAt": now, "instanceId": inst.instance_id}

    def _connect(self, inst: FakeInstance) -> Reply:
        if inst.state == "open":
            return 200, {"instance": {"instanceName": inst.name, "state": "open"}}, {}
        inst.loaded_base64 = bool((inst.webhook or {}).get("base64"))
        if self.webhook_on_rotation:
            self.simulate_connecting(inst.name)
        self.rotate_qr(inst.name, post_webhook=self.webhook_on_rotation)
        return 200, self._qr(inst), {}

    @staticmethod
    def _logout(inst: FakeInstance) -> Reply:
        if inst.state == "close":
            return 400, evolution_error(400, f'The "{inst.name}" instance is not connected'), {}
        inst.state, inst.qr_code = "close", None
        return 200, {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}, {}

    def _base64_of(self, inst: FakeInstance, body: Any) -> Reply:
        """getBase64FromMediaMessage: the given message, or its stored copy, downloaded and decrypted."""
        given = body.get("message") if isinstance(body, dict) else None
        if not isinstance(given, dict):
            return 400, evolution_error(400, "TypeError: Cannot read properties of undefined (reading 'message')"), {}
        found = given if given.get("message") else inst.stored.get(str((given.get("key") or {}).get("id")))
        if not found:
            return 400, evolution_error(400, "Message not found"), {}
        message = found.get("message") or {}
        media_type = next((t for t in DOWNLOADABLE if isinstance(message.get(t), dict)), None)
        if media_type is None:
            return 400, evolution_error(400, "The message is not of the media type"), {}
        media = message[media_type]
        held = self.cdn.get(str(media.get("directPath")))
        try:
            media_key = _bytes_of(media.get("mediaKey"))
        except (ValueError, TypeError):
            media_key = None
        if held is None or media_key != held[0]:
            # Baileys cannot decrypt without the right key; Evolution reports the download error.
            return 400, evolution_error(400, "Error: Failed to fetch stream from https://mmg.whatsapp.net"), {}
        extension = (mimetypes.guess_extension(str(media.get("mimetype") or "")) or ".bin").lstrip(".")
        return 201, {"mediaType": media_type,
                     "fileName": media.get("fileName") or f"{(found.get('key') or {}).get('id')}.{extension}",
                     "caption": media.get("caption"),
                     "size": {"fileLength": media.get("fileLength"), "height": media.get("height"),
                              "width": media.get("width")},
                     "mimetype": media.get("mimetype"), "base64": base64.b64encode(held[1]).decode(),
                     "buffer": None}, {}

    def _send(self, inst: FakeInstance, endpoint: str, body: Any) -> Reply:
        if not isinstance(body, dict) or not re.fullmatch(r"\d{6,20}", str(body.get("number") or "")):
            return 400, evolution_error(400, "number is required and must contain only digits"), {}
        number = body["number"]
        required = {"sendText": "text", "sendMedia": "media", "sendWhatsAppAudio": "audio",
                    "sendSticker": "sticker"}[endpoint]
        if not body.get(required):
            return 400, evolution_error(400, f"{required} is required"), {}
        if endpoint == "sendMedia" and body.get("mediatype") not in MEDIA_TYPES:
            return 400, evolution_error(400, "mediatype must be one of image, video, document, audio"), {}
        if endpoint != "sendText":
            refusal = self._media_refusal(endpoint, body)
            if refusal:
                return 400, evolution_error(400, refusal), {}
        if number in self.not_on_whatsapp:
            return 400, evolution_error(400, [{"exists": False, "jid": f"{number}@s.whatsapp.net",
                                                "number": number}]), {}
        message_id = _message_id()
        inst.sent.append({"endpoint": endpoint, "id": message_id, **body})
        raw = {"key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": message_id},
               "pushName": "", "status": "PENDING", "message": {"conversation": body.get("text")},
               "messageType": "conversation" if endpoint == "sendText" else f"{body.get('mediatype', 'media')}Message",
               "messageTimestamp": int(time.time()), "instanceId": inst.instance_id, "source": "unknown"}
        self._store(inst, raw)
        echo = raw
        if endpoint != "sendText" and inst.loaded_base64:
            source = body[required]
            echo = {**raw, "message": {**raw["message"], "base64": source if is_base64(source) else ""}}
        self._post(inst, "send.message", echo)
        return 201, raw, {}

    @staticmethod
    def _media_refusal(endpoint: str, body: dict[str, Any]) -> str | None:
        """SendMessageController's checks: a URL `isURL` accepts or base64, and a name for base64 documents."""
        media = body.get({"sendMedia": "media", "sendWhatsAppAudio": "audio", "sendSticker": "sticker"}[endpoint])
        if endpoint == "sendMedia" and is_base64(media) and not body.get("fileName") \
                and body.get("mediatype") == "document":
            return "For base64 the file name must be informed."
        if is_url(media) or is_base64(media):
            return None
        if endpoint == "sendWhatsAppAudio":
            return "Owned media must be a url, base64, or valid file with buffer"
        return "Owned media must be a url or base64"

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
