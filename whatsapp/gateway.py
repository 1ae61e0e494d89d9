"""QR-linked WhatsApp adapter speaking to an Evolution API v2 gateway over REST."""
from __future__ import annotations

import json
import logging
import mimetypes
import re
from typing import Any
from urllib.parse import quote

import httpx

from . import http as shared_http
from .base import (ChannelError, ChannelStatus, ConnectionState, ConnectResult, Event,
                   ProviderError, RecipientError, RetryableError, SendResult)
from .cloud_errors import parse_retry_after
from .gateway_webhook import STATE_MAP, jid_to_wa_id, parse_gateway_webhook

log = logging.getLogger(__name__)

WEBHOOK_EVENTS = ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT",
                  "MESSAGES_UPDATE", "SEND_MESSAGE"]
# Evolution's sendMedia handles these; audio and stickers have dedicated endpoints
# so they arrive as a voice note / sticker instead of a file attachment.
SEND_MEDIA_TYPES = ("image", "video", "document")


class GatewayProvider:
    """One WhatsApp number linked by QR scan through an Evolution API instance."""

    kind = "gateway"

    def __init__(self, base_url: str, api_key: str, instance_name: str, *,
                 instance_token: str | None = None, webhook_url: str | None = None,
                 client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        # Error text is shown to tenants, so any user:password in the URL is left out of it.
        self._shown_url = re.sub(r"//[^/@]*@", "//", self.base_url)
        self._api_key = api_key
        self.instance_name = instance_name
        self._instance_token = instance_token
        self.webhook_url = webhook_url
        self._client = client

    def __repr__(self) -> str:
        return f"GatewayProvider(base_url={self._shown_url!r}, instance_name={self.instance_name!r})"

    @property
    def instance_token(self) -> str | None:
        """The per-instance token returned by `create_instance` (store it encrypted)."""
        return self._instance_token

    # -- instance lifecycle --------------------------------------------------------

    def create_instance(self) -> str | None:
        """Create the gateway instance with its webhook; return the instance token."""
        body: dict[str, Any] = {"instanceName": self.instance_name,
                                "integration": "WHATSAPP-BAILEYS", "qrcode": True}
        if self.webhook_url:
            body["webhook"] = {"url": self.webhook_url, "byEvents": False, "base64": True,
                               "events": WEBHOOK_EVENTS}
        data = self._json("POST", "/instance/create", json=body, admin=True)
        token = data.get("hash")
        if isinstance(token, dict):  # v1 gateways answered {"hash": {"apikey": ...}}
            token = token.get("apikey")
        self._instance_token = str(token) if token else self._instance_token
        return self._instance_token

    def connect(self) -> ConnectResult:
        """Ask for a QR code to scan, or report CONNECTED if the number is already linked."""
        data = self._json("GET", f"/instance/connect/{self._name()}")
        if _get(data.get("instance"), "state") == "open":
            number, name = self._owner()
            return ConnectResult(ConnectionState.CONNECTED, phone_number=number, profile_name=name)
        # The raw QR string is `code`; `base64` is only a pre-rendered PNG of it.
        code = data.get("code") or _get(data.get("qrcode"), "code")
        return ConnectResult(ConnectionState.PENDING, qr=code or None)

    def status(self) -> ChannelStatus:
        """Current link state: open -> CONNECTED (with number), connecting -> PENDING, close."""
        data = self._json("GET", f"/instance/connectionState/{self._name()}")
        raw = str(_get(data.get("instance"), "state") or data.get("state") or "close")
        state = STATE_MAP.get(raw, ConnectionState.ERROR)
        if state is not ConnectionState.CONNECTED:
            return ChannelStatus(state=state, detail=f"gateway state: {raw}")
        number, name = self._owner()
        return ChannelStatus(state=state, phone_number=number, profile_name=name)

    def disconnect(self) -> None:
        """Log the number out and delete the instance; already-gone counts as done."""
        # 400 on logout means "not connected"; either way the next step is the delete.
        self._tolerant("DELETE", f"/instance/logout/{self._name()}", ok=(400, 404))
        self._tolerant("DELETE", f"/instance/delete/{self._name()}", ok=(404,), admin=True)

    def _owner(self) -> tuple[str | None, str | None]:
        # The number is a nicety for the UI; a failed lookup must not fail the status call.
        try:
            data = self._request("GET", "/instance/fetchInstances",
                                 params={"instanceName": self.instance_name}, admin=True).json()
        except (ProviderError, ValueError) as exc:
            log.info("Could not read gateway instance owner: %s", exc)
            return None, None
        for item in data if isinstance(data, list) else [data]:
            info = item.get("instance", item) if isinstance(item, dict) else {}
            if info.get("name", info.get("instanceName")) != self.instance_name:
                continue
            owner = info.get("ownerJid") or info.get("owner")
            return (jid_to_wa_id(owner) if owner else None), info.get("profileName")
        return None, None

    # -- sending -------------------------------------------------------------------

    def send_text(self, to: str, body: str, *, preview_url: bool = False) -> SendResult:
        """Send a text message from the linked number."""
        payload = {"number": _digits(to), "text": body, "linkPreview": bool(preview_url)}
        return self._send("sendText", payload)

    def send_template(self, to: str, name: str, language: str,
                      components: list[dict[str, Any]] | None = None) -> SendResult:
        """Templates need Meta's approval, which a QR-linked number does not have."""
        raise RecipientError("Templates are only available on the Cloud API",
                             code="template_unsupported")

    def send_media(self, to: str, media_type: str, *, link: str | None = None,
                   media_id: str | None = None, caption: str | None = None,
                   filename: str | None = None) -> SendResult:
        """Send an image, video, document, audio note or sticker from a URL."""
        if not link:
            # Media ids belong to Meta's Cloud API; the gateway only fetches URLs (or base64).
            raise RecipientError("The WhatsApp gateway needs a media link, not a media id",
                                 code="media_link_required")
        number = _digits(to)
        if media_type == "audio":
            return self._send("sendWhatsAppAudio", {"number": number, "audio": link})
        if media_type == "sticker":
            return self._send("sendSticker", {"number": number, "sticker": link})
        if media_type not in SEND_MEDIA_TYPES:
            raise ValueError(f"Unsupported media type {media_type!r}")
        payload: dict[str, Any] = {"number": number, "mediatype": media_type, "media": link}
        mime = mimetypes.guess_type(filename or link.split("?")[0])[0]
        if mime:
            payload["mimetype"] = mime
        if caption:
            payload["caption"] = caption
        if filename:
            payload["fileName"] = filename
        return self._send("sendMedia", payload)

    def _send(self, endpoint: str, payload: dict[str, Any]) -> SendResult:
        if not payload["number"]:
            raise RecipientError("The recipient has no phone number", code="no_recipient")
        data = self._json("POST", f"/message/{endpoint}/{self._name()}", json=payload)
        message_id = _get(data.get("key"), "id")
        if not message_id:
            raise RecipientError("The WhatsApp gateway returned no message id",
                                 code="no_message_id")
        return SendResult(provider_message_id=str(message_id))

    # -- webhooks ------------------------------------------------------------------

    def parse_webhook(self, payload: dict[str, Any]) -> list[Event]:
        """Turn an Evolution webhook body into events, ignoring other instances' traffic."""
        return parse_gateway_webhook(payload, self.instance_name)

    # -- transport -----------------------------------------------------------------

    def _name(self) -> str:
        return quote(self.instance_name, safe="")

    def _tolerant(self, method: str, path: str, *, ok: tuple[int, ...], admin: bool = False) -> None:
        try:
            self._request(method, path, admin=admin)
        except ProviderError as exc:
            if exc.http_status not in ok:
                raise
            log.info("Gateway %s %s answered %s; treating as done", method, path, exc.http_status)

    def _request(self, method: str, path: str, *, admin: bool = False,
                 **kwargs: Any) -> httpx.Response:
        client = self._client or shared_http.get_client()
        # Instance-scoped calls prefer the instance token so a leaked row exposes one
        # instance, not the whole gateway; create/delete/list need the global key.
        key = self._api_key if admin or not self._instance_token else self._instance_token
        try:
            response = client.request(method, self.base_url + path,
                                      headers={"apikey": key}, **kwargs)
        except httpx.TransportError as exc:
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            raise RetryableError(f"WhatsApp gateway {kind} at {self._shown_url}",
                                 code="timeout" if kind == "timed out" else "unreachable",
                                 details=type(exc).__name__) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            raise RetryableError(f"WhatsApp gateway at {self._shown_url} sent an unreadable answer",
                                 code="bad_response", http_status=response.status_code) from None
        if isinstance(data, dict) and data.get("error") is True:
            # Some Evolution handlers report failures as 200 {"error": true, "message": ...}.
            raise ChannelError("The WhatsApp gateway refused the request",
                               code="gateway_error", details=str(data.get("message"))[:300])
        return data if isinstance(data, dict) else {"items": data}

    def _error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        detail = _error_detail(response)
        kwargs = {"code": status, "http_status": status, "details": detail,
                  "retry_after": parse_retry_after(response.headers.get("Retry-After"))}
        if status == 429 or status >= 500:
            return RetryableError(f"WhatsApp gateway at {self._shown_url} is having trouble "
                                  f"(HTTP {status}) - it will be retried", **kwargs)
        if status == 401 or (status == 403 and "already in use" not in (detail or "")):
            return ChannelError("Gateway API key rejected - check the gateway settings", **kwargs)
        if status == 403:
            return ChannelError(f"A gateway instance named {self.instance_name!r} already exists",
                                **kwargs)
        if status == 404:
            return ChannelError(f"The gateway has no instance named {self.instance_name!r} - "
                                "reconnect WhatsApp", **kwargs)
        # Evolution answers a send to a number without WhatsApp with
        # 400 {"response": {"message": [{"exists": false, "jid": ..., "number": ...}]}}.
        if '"exists": false' in (detail or ""):
            return RecipientError("This number is not on WhatsApp", **kwargs)
        return RecipientError("The WhatsApp gateway rejected the message"
                              + (f": {detail}" if detail else ""), **kwargs)


def _error_detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or None
    message = _get(body.get("response"), "message") if isinstance(body, dict) else None
    if message is None and isinstance(body, dict):
        message = body.get("message") or body.get("error")
    if isinstance(message, list):
        return "; ".join(m if isinstance(m, str) else json.dumps(m) for m in message)[:300]
    return str(message)[:300] if message is not None else None


def _digits(number: str | None) -> str:
    return re.sub(r"\D", "", number or "")


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None
