"""QR-linked WhatsApp adapter speaking to an Evolution API v2 gateway over REST."""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import mimetypes
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from core.enums import ChannelKind

from . import http as shared_http
from .base import (
    BaseProvider,
    Capabilities,
    ChannelError,
    ChannelStatus,
    ConnectionState,
    ConnectResult,
    Event,
    MaybeSent,
    NotSupported,
    ProviderError,
    RecipientError,
    RetryableError,
    SendResult,
)
from .cloud_errors import NOT_SENT, parse_retry_after
from .gateway_webhook import STATE_MAP, jid_to_wa_id, parse_gateway_webhook

log = logging.getLogger(__name__)

# SEND_MESSAGE is left out: it echoes every send back as a webhook nobody reads.
WEBHOOK_EVENTS = ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE"]
# Evolution's sendMedia handles these; audio and stickers have dedicated endpoints
# so they arrive as a voice note / sticker instead of a file attachment.
SEND_MEDIA_TYPES = ("image", "video", "document")
# Files up to this size go to the gateway as base64, so it never has to reach PUBLIC_BASE_URL;
# larger ones go as links (base64 costs a third more bytes and sits in memory on both sides).
INLINE_MEDIA_MAX = 8 * 1024 * 1024
# The gateway downloads and decrypts the file from WhatsApp before it answers.
DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0)

# Reads one of our own media links from disk: (link, size limit) -> bytes, or None when it
# is not ours or is larger than the limit.
MediaReader = Callable[[str, int], bytes | None]


class GatewayProvider(BaseProvider):
    """One WhatsApp number linked by QR scan through an Evolution API instance."""

    kind = ChannelKind.GATEWAY
    # Unofficial bulk sending gets linked numbers banned: one message every ~4 s, with jitter, one at a time.
    capabilities = Capabilities(name="QR device", title="Linked device (QR)", media_by_link=True,
                                fetches_media_links=True, media_download=True, qr_link=True, instance_lifecycle=True,
                                reconnect_reports_pending=True, default_rate=0.25, max_rate=0.25,
                                send_jitter=0.5, burst_seconds=0.0)

    def __init__(self, base_url: str, api_key: str, instance_name: str, *,
                 instance_token: str | None = None, webhook_url: str | None = None,
                 read_media: MediaReader | None = None, client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        # Error text is shown to tenants, so any user:password in the URL is left out of it.
        self._shown_url = re.sub(r"//[^/@]*@", "//", self.base_url)
        self._api_key = api_key
        self.instance_name = instance_name
        self._instance_token = instance_token
        self.webhook_url = webhook_url
        self._read_media = read_media
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
            body["webhook"] = webhook_settings(self.webhook_url)
        data = self._json("POST", "/instance/create", json=body, admin=True)
        token = data.get("hash")
        if isinstance(token, dict):  # v1 gateways answered {"hash": {"apikey": ...}}
            token = token.get("apikey")
        self._instance_token = str(token) if token else self._instance_token
        return self._instance_token

    def set_webhook(self, url: str | None = None) -> None:
        """Point the instance's webhook at `url` (default: ours); raises unless the gateway stored it."""
        url = url or self.webhook_url
        if not url:
            raise ValueError("no webhook URL to set")
        data = self._json("POST", f"/webhook/set/{self._name()}", json={"webhook": webhook_settings(url)})
        # The answer is the stored webhook row; anything else means the old URL is still in force.
        if data.get("url") != url or data.get("enabled") is not True:
            raise ChannelError("The WhatsApp gateway did not store the new webhook URL",
                               code="webhook_not_set", details=json.dumps(data)[:300])

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
        raise NotSupported("Templates are only available on the Cloud API", code="template_unsupported")

    def send_media(self, to: str, media_type: str, *, link: str | None = None,
                   media_id: str | None = None, caption: str | None = None,
                   filename: str | None = None) -> SendResult:
        """Send an image, video, document, audio note or sticker: small files inline, others by URL."""
        if not link:
            # Media ids belong to Meta's Cloud API; the gateway only fetches URLs (or base64).
            raise RecipientError("The WhatsApp gateway needs a media link, not a media id",
                                 code="media_link_required")
        number = _digits(to)
        if media_type not in SEND_MEDIA_TYPES + ("audio", "sticker"):
            raise ValueError(f"Unsupported media type {media_type!r}")
        media = self._media_source(link)
        if media_type == "audio":
            return self._send("sendWhatsAppAudio", {"number": number, "audio": media})
        if media_type == "sticker":
            return self._send("sendSticker", {"number": number, "sticker": media})
        payload: dict[str, Any] = {"number": number, "mediatype": media_type, "media": media}
        mime = mimetypes.guess_type(filename or link.split("?")[0])[0]
        if mime:
            payload["mimetype"] = mime
        if caption:
            payload["caption"] = caption
        if media_type == "document" and not filename:
            # Without a name Evolution cuts one out of the link (our signed token), and refuses base64.
            filename = "document" + ((mimetypes.guess_extension(mime) if mime else None) or "")
        if filename:
            payload["fileName"] = filename
        return self._send("sendMedia", payload)

    def _media_source(self, link: str) -> str:
        """Base64 of a small file of ours, else the link itself if the gateway will fetch it."""
        data = self._read_media(link, INLINE_MEDIA_MAX) if self._read_media else None
        if data is not None:
            return base64.b64encode(data).decode("ascii")
        if not media_url_accepted(link):
            host = urlsplit(link).hostname or link
            raise RecipientError(f"The WhatsApp gateway only fetches files from a dotted host name or an IP "
                                 f"address, not {host!r}: set PUBLIC_BASE_URL to one it can reach",
                                 code="media_link_refused")
        return link

    def media_reference(self, media: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any] | None:
        """Inbound files are fetched with the Baileys message the webhook carried (it comes without the file)."""
        return payload.get("gateway_message") or None

    def download_media(self, message: dict[str, Any]) -> tuple[bytes, str]:
        """Fetch an inbound file through the gateway, which downloads and decrypts it from WhatsApp.

        `message` is the Baileys `{key, message}` the webhook carried; with it the gateway needs no
        copy of its own (DATABASE_SAVE_DATA_NEW_MESSAGE may be off).
        """
        try:
            data = self._json("POST", f"/chat/getBase64FromMediaMessage/{self._name()}",
                              json={"message": message, "convertToMp4": False}, timeout=DOWNLOAD_TIMEOUT)
        except RecipientError as exc:
            raise RecipientError("The WhatsApp gateway could not fetch the file"
                                 + (f": {exc.details}" if exc.details else ""), code="media_unavailable",
                                 http_status=exc.http_status, details=exc.details) from None
        try:
            content = base64.b64decode(str(data.get("base64") or ""), validate=True)
        except binascii.Error:
            content = b""
        if not content:
            raise RecipientError("The WhatsApp gateway returned no file", code="media_unavailable")
        return content, str(data.get("mimetype") or "application/octet-stream").split(";")[0].strip()

    def _send(self, endpoint: str, payload: dict[str, Any]) -> SendResult:
        if not payload["number"]:
            raise RecipientError("The recipient has no phone number", code="no_recipient")
        data = self._json("POST", f"/message/{endpoint}/{self._name()}", json=payload, delivers=True)
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

    def _request(self, method: str, path: str, *, admin: bool = False, delivers: bool = False,
                 **kwargs: Any) -> httpx.Response:
        client = self._client or shared_http.get_client()
        # Instance-scoped calls prefer the instance token so a leaked row exposes one
        # instance, not the whole gateway; create/delete/list need the global key.
        key = self._api_key if admin or not self._instance_token else self._instance_token
        try:
            response = client.request(method, self.base_url + path,
                                      headers={"apikey": key}, **kwargs)
        except httpx.TransportError as exc:
            if delivers and not isinstance(exc, NOT_SENT):  # the message may be on its way: never resent
                raise MaybeSent(f"WhatsApp gateway at {self._shown_url} did not answer ({type(exc).__name__}) "
                                "after the message was sent, so it may have been received",
                                code="no_answer", details=type(exc).__name__) from None
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


def webhook_settings(url: str) -> dict[str, Any]:
    """The webhook MessageHub wants on every instance: our events only, media fetched separately."""
    # base64 off: Evolution would put each inbound file into the webhook body, and
    # bodies over the webhook route's limit are refused and eventually dropped.
    return {"enabled": True, "url": url, "byEvents": False, "base64": False, "events": list(WEBHOOK_EVENTS)}


_FQDN_LABEL = re.compile(r"^(?!-)[a-z0-9\u00a1-\uffff-]{1,63}(?<!-)$", re.IGNORECASE)
_FQDN_TLD = re.compile(r"^(?:[a-z\u00a1-\uffff]{2,}|xn[a-z0-9-]{2,})$", re.IGNORECASE)


def media_url_accepted(url: str) -> bool:
    """Whether Evolution's media check (class-validator `isURL`, default options) takes `url`.

    It wants http(s) or ftp and a host that is an IP address or a dotted name ending in a
    letter TLD, so `localhost` or a container name such as `app` are refused.
    """
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https", "ftp") or not host or len(url) > 2083:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return (len(labels) >= 2 and bool(_FQDN_TLD.match(labels[-1]))
            and all(_FQDN_LABEL.match(label) for label in labels))


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
