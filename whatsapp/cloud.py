"""WhatsApp Cloud API adapter (Meta Graph API) implementing the `Provider` protocol."""
from __future__ import annotations

import re
from typing import Any

import httpx

from core.enums import ChannelKind

from . import async_http
from . import http as shared_http
from .base import (
    BaseProvider,
    Capabilities,
    ChannelStatus,
    ConnectionState,
    ConnectResult,
    Event,
    ProviderError,
    RecipientError,
    SendResult,
)
from .cloud_errors import error_from_parts, error_from_response, error_from_transport, graph_error_of, scrub
from .cloud_webhook import parse_cloud_webhook

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
# Audio and stickers cannot carry a caption; only documents carry a filename.
CAPTION_TYPES = ("image", "document", "video")
PHONE_FIELDS = ("display_phone_number,verified_name,quality_rating,code_verification_status,"
                "name_status,platform_type,throughput")
TEMPLATE_FIELDS = ("name", "language", "status", "category", "components", "id")
# Guards against a paging cursor that never ends (Graph has returned loops before).
MAX_TEMPLATE_PAGES = 50


class CloudProvider(BaseProvider):
    """Sends and receives WhatsApp messages through Meta's Cloud API for one phone number."""

    kind = ChannelKind.CLOUD
    capabilities = Capabilities(name="Cloud API", title="WhatsApp Cloud API", templates=True, template_sync=True,
                                service_window=True, media_by_upload=True, media_download=True, credentials=True,
                                manual_webhook=True, webhook_subscription=True,
                                default_rate=80.0, max_rate=1000.0, rate_configurable=True, burst_seconds=0.1,
                                concurrent_sends=True, async_sends=True)

    def __init__(self, phone_number_id: str, waba_id: str, access_token: str, *,
                 base_url: str = DEFAULT_BASE_URL, api_version: str = DEFAULT_API_VERSION,
                 client: httpx.Client | None = None):
        self.phone_number_id = str(phone_number_id)
        self.waba_id = str(waba_id)
        self._token = access_token
        self.base_url = base_url.rstrip("/")
        version = str(api_version).strip("/")
        self.api_version = version if version.startswith("v") else f"v{version}"
        self._client = client

    def __repr__(self) -> str:
        # Never show the token, even in debugger output or logged reprs.
        return f"CloudProvider(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r})"

    # -- sending -------------------------------------------------------------------

    def send_text(self, to: str, body: str, *, preview_url: bool = False) -> SendResult:
        """Send a free-form text message (only inside the 24-hour customer service window)."""
        return self._send(to, "text", text_content(body, preview_url=preview_url))

    def send_template(self, to: str, name: str, language: str,
                      components: list[dict[str, Any]] | None = None) -> SendResult:
        """Send an approved message template, e.g. language 'en_US'."""
        return self._send(to, "template", template_content(name, language, components))

    def send_media(self, to: str, media_type: str, *, link: str | None = None,
                   media_id: str | None = None, caption: str | None = None,
                   filename: str | None = None) -> SendResult:
        """Send an image, document, audio, video or sticker by public link or uploaded media id."""
        if media_type not in MEDIA_TYPES:
            raise ValueError(f"Unsupported media type {media_type!r}; use one of {MEDIA_TYPES}")
        if bool(link) == bool(media_id):
            raise ValueError("Pass exactly one of link or media_id")
        media: dict[str, Any] = {"link": link} if link else {"id": media_id}
        if caption and media_type in CAPTION_TYPES:
            media["caption"] = caption
        if filename and media_type == "document":
            media["filename"] = filename
        return self._send(to, media_type, media)

    def _send(self, to: str, msg_type: str, content: dict[str, Any]) -> SendResult:
        data = self._json("POST", f"{self.phone_number_id}/messages", json=message_body(to, msg_type, content),
                          delivers=True)
        return sent_result(data)

    # -- the async send path (many sends in flight from one worker) ----------------

    async def send_async(self, to: str, msg_type: str, content: dict[str, Any]) -> SendResult:
        """Send a text or template on the sending loop (`async_http`); raises the same typed errors."""
        status, data, retry_after = await async_http.post_json(
            self.messages_url(), message_body(to, msg_type, content), self.auth_headers(),
            what="the WhatsApp Cloud API")
        if status >= 400 or not isinstance(data, dict):
            raise self.error_for(status, data, retry_after)
        return sent_result(data)

    def messages_url(self) -> str:
        """Where sends are posted."""
        return self._url(f"{self.phone_number_id}/messages")

    def auth_headers(self) -> dict[str, str]:
        """Headers every request carries (the bearer token: never log them)."""
        return {"Authorization": f"Bearer {self._token}"}

    def error_for(self, status: int, body: Any, retry_after: str | None) -> ProviderError:
        """The typed error for a failed answer, with the token scrubbed from its wording."""
        if status < 400 and not isinstance(body, dict):
            return RecipientError("WhatsApp returned a response that is not JSON", code="bad_response",
                                  http_status=status)
        return error_from_parts(status, graph_error_of(body), retry_after, secret=self._token)

    # -- channel -------------------------------------------------------------------

    def status(self) -> ChannelStatus:
        """Read the phone number's display number, verified name and quality rating."""
        data = self._json("GET", self.phone_number_id, params={"fields": PHONE_FIELDS})
        extra = [f"{key}={data[key]}" for key in ("code_verification_status", "name_status")
                 if data.get(key)]
        return ChannelStatus(state=ConnectionState.CONNECTED,
                             phone_number=data.get("display_phone_number"),
                             profile_name=data.get("verified_name"),
                             verified_name=data.get("verified_name"),
                             quality=data.get("quality_rating"),
                             detail=", ".join(extra) or None)

    def connect(self) -> ConnectResult:
        """Check the credentials work; the Cloud API has no QR step."""
        current = self.status()
        return ConnectResult(state=ConnectionState.CONNECTED, phone_number=current.phone_number,
                             profile_name=current.verified_name)

    def disconnect(self) -> None:
        """Nothing to do remotely: the caller deletes the stored credentials."""
        return None

    def subscribe_app(self) -> bool:
        """Subscribe this app to the WABA's webhooks; True when Meta confirms."""
        data = self._json("POST", f"{self.waba_id}/subscribed_apps")
        return bool(data.get("success"))

    def list_templates(self, *, page_size: int = 100) -> list[dict[str, Any]]:
        """Every message template of the WABA, following paging cursors."""
        templates: list[dict[str, Any]] = []
        url: str | None = self._url(f"{self.waba_id}/message_templates")
        params: dict[str, Any] | None = {"limit": page_size,
                                         "fields": ",".join(TEMPLATE_FIELDS)}
        seen: set[str] = set()
        for _ in range(MAX_TEMPLATE_PAGES):
            if url is None or url in seen:
                break
            seen.add(url)
            data = self._json("GET", url, params=params, absolute=True)
            for item in data.get("data") or []:
                if isinstance(item, dict):
                    templates.append({k: item.get(k) for k in TEMPLATE_FIELDS})
            # `next` already carries every query parameter, cursor included.
            url, params = (data.get("paging") or {}).get("next"), None
        return templates

    # -- media ---------------------------------------------------------------------

    def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload bytes to WhatsApp and return the media id to send them with."""
        body = self._json("POST", f"{self.phone_number_id}/media",
                          data={"messaging_product": "whatsapp", "type": mime_type},
                          files={"file": (filename, data, mime_type)})
        media_id = body.get("id")
        if not media_id:
            raise RecipientError("WhatsApp did not return a media id for the upload",
                                 code="no_media_id")
        return str(media_id)

    def media_reference(self, media: dict[str, Any], payload: dict[str, Any]) -> str | None:
        """Inbound files are fetched by the media id the webhook carried."""
        return media.get("media_id") or None

    def download_media(self, media_id: str) -> tuple[bytes, str]:
        """Fetch an inbound media file: look up its short-lived URL, then download it."""
        info = self._json("GET", str(media_id))
        url = info.get("url")
        if not url:
            raise RecipientError("WhatsApp returned no download URL for this media",
                                 code="no_media_url")
        response = self._request("GET", url, absolute=True)
        mime = info.get("mime_type") or response.headers.get("content-type", "")
        return response.content, mime.split(";")[0].strip() or "application/octet-stream"

    # -- webhooks ------------------------------------------------------------------

    def parse_webhook(self, payload: dict[str, Any]) -> list[Event]:
        """Turn a Cloud API webhook body into events for this phone number only."""
        return parse_cloud_webhook(payload, self.phone_number_id)

    # -- transport -----------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    def _request(self, method: str, path: str, *, absolute: bool = False, delivers: bool = False,
                 **kwargs: Any) -> httpx.Response:
        client = self._client or shared_http.get_client()
        url = path if absolute else self._url(path)
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            response = client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            # `from None` keeps httpx's exception (and its request) out of tracebacks.
            raise error_from_transport(exc, "the WhatsApp Cloud API", delivers=delivers) from None
        if response.status_code >= 400:
            raise error_from_response(response, secret=self._token)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            raise RecipientError("WhatsApp returned a response that is not JSON",
                                 code="bad_response", http_status=response.status_code,
                                 details=scrub(response.text[:200], self._token)) from None
        return data if isinstance(data, dict) else {}


def message_body(to: str, msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """The JSON a Cloud API send posts; refuses a recipient without digits."""
    recipient = re.sub(r"\D", "", to or "")
    if not recipient:
        raise RecipientError("The recipient has no phone number", code="no_recipient")
    return {"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": recipient, "type": msg_type, msg_type: content}


def sent_result(data: Any) -> SendResult:
    """The provider's id from a successful send's answer."""
    messages = data.get("messages") if isinstance(data, dict) else None
    if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
        # Accepted without an id cannot be tracked; failing beats a blind resend.
        raise RecipientError("WhatsApp accepted the request but returned no message id",
                             code="no_message_id")
    return SendResult(provider_message_id=str(messages[0]["id"]))


def text_content(body: str, *, preview_url: bool = False) -> dict[str, Any]:
    """The `text` object of a text send."""
    return {"preview_url": bool(preview_url), "body": body}


def template_content(name: str, language: str, components: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The `template` object of a template send."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    return template
