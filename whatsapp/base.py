"""Provider-neutral types and the interface every WhatsApp adapter implements.

Everything after the adapter (storage, jobs, UI) speaks only these types, so the
Cloud API, the QR-linked gateway and the sandbox share one pipeline.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.enums import ConnectionState, MessageStatus


class ErrorAction(enum.Enum):
    """What the caller should do after a provider error."""

    RETRY = "retry"            # transient: 429/130429, 5xx, timeouts
    FAIL_MESSAGE = "fail"      # this recipient/message cannot be sent (131026, 131047, 131050, 132xxx)
    PAUSE_CHANNEL = "pause"    # the whole channel is unusable until a human acts (190, 131048, 368)
    UNKNOWN = "unknown"        # the request may have reached the provider: never send it again automatically


class ProviderError(Exception):
    """Base class of typed provider errors; `action` tells the caller what to do."""

    action: ErrorAction = ErrorAction.FAIL_MESSAGE

    def __init__(self, message: str, *, code: int | str | None = None, http_status: int | None = None,
                 retry_after: float | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.details = details

    def __str__(self) -> str:
        prefix = f"[{self.code}] " if self.code is not None else ""
        return f"{prefix}{self.message}"


class RetryableError(ProviderError):
    """Transient failure: try again later with backoff."""

    action = ErrorAction.RETRY


class RecipientError(ProviderError):
    """This message or recipient failed; other messages may still go out."""

    action = ErrorAction.FAIL_MESSAGE


class ChannelError(ProviderError):
    """The channel itself is unusable (expired token, spam restriction, limit reached)."""

    action = ErrorAction.PAUSE_CHANNEL


class MaybeSent(ProviderError):
    """The request left and no answer came back: the provider may have the message."""

    action = ErrorAction.UNKNOWN


class NotSupported(RecipientError):
    """This kind of provider cannot do that at all; callers check `capabilities` before asking."""


@dataclass(frozen=True)
class SendResult:
    """A provider accepted an outbound message."""

    provider_message_id: str


@dataclass(frozen=True)
class ConnectResult:
    """Outcome of a connect call: a QR payload to scan, or a state (Cloud API connects with credentials)."""

    state: ConnectionState
    qr: str | None = None                # raw QR string to render with `qrcode`
    phone_number: str | None = None      # E.164 without '+' or display number, once linked
    profile_name: str | None = None


@dataclass(frozen=True)
class ChannelStatus:
    """Current state of a channel as the provider reports it."""

    state: ConnectionState
    phone_number: str | None = None
    profile_name: str | None = None
    qr: str | None = None
    quality: str | None = None           # Cloud API quality rating (GREEN/YELLOW/RED)
    verified_name: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Media:
    """Inbound media reference; the bytes are fetched later by a job."""

    media_id: str | None = None          # Cloud API media id
    url: str | None = None               # direct URL (gateway)
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None
    caption: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent to the tenant."""

    provider_message_id: str
    wa_id: str                           # sender's WhatsApp id (digits, no '+')
    timestamp: datetime
    type: str                            # text, image, document, audio, video, sticker, location,
                                         # contacts, interactive, button, reaction, unsupported
    text: str | None = None
    profile_name: str | None = None
    media: Media | None = None
    context_message_id: str | None = None  # replied-to / reacted-to message
    payload: dict[str, Any] = field(default_factory=dict)  # type-specific details (location, contacts ...)


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery receipt for an outbound message."""

    provider_message_id: str
    status: MessageStatus                # sent, delivered, read or failed
    timestamp: datetime
    recipient_wa_id: str | None = None
    error_code: int | str | None = None
    error_title: str | None = None


@dataclass(frozen=True)
class ConnectionEvent:
    """The channel's linking state changed (gateway QR updates, connection updates)."""

    state: ConnectionState
    qr: str | None = None
    phone_number: str | None = None
    profile_name: str | None = None


@dataclass(frozen=True)
class OptOutEvent:
    """The provider reports that a user stopped marketing messages."""

    wa_id: str
    timestamp: datetime


Event = InboundMessage | StatusUpdate | ConnectionEvent | OptOutEvent


@dataclass(frozen=True)
class Capabilities:
    """What a kind of provider can do, so callers ask instead of branching on the channel kind."""

    name: str = ""                   # short display name (navigation badge)
    title: str = ""                  # full display name (settings page)
    templates: bool = False          # approved message templates can be sent
    template_sync: bool = False      # the account's templates are read from the provider (`list_templates`)
    service_window: bool = False     # free-form messages only within 24 h of the customer's last message
    media_by_upload: bool = False    # media is uploaded first (`upload_media`) and sent by id
    media_by_link: bool = False      # media is sent as a link the provider fetches
    fetches_media_links: bool = False  # the provider downloads our signed links itself, so their host must suit it
    media_download: bool = False     # inbound files are fetched after the webhook (`media_reference`, `download_media`)
    credentials: bool = False        # linked by entering account credentials, which can be tested (`status`)
    qr_link: bool = False            # linked by scanning a QR; the settings page polls while the link is pending
    qr_is_link: bool = False         # the QR encodes a web page (any camera opens it), not a WhatsApp linking code
    instance_lifecycle: bool = False  # an instance on a gateway: `create_instance`, `set_webhook`, state polled
                                      # while pending, `disconnect` logs out and deletes it
    reconnect_reports_pending: bool = False  # "connecting" comes with each new QR and every reconnect: not a new state
    manual_webhook: bool = False     # the tenant pastes our webhook URL and verify token into the provider's console
    webhook_subscription: bool = False  # the account must be subscribed to deliver webhooks (`subscribe_app`)
    default_rate: float = 80.0       # messages per second when the tenant sets none
    max_rate: float = 80.0           # the highest rate a tenant may set
    rate_configurable: bool = False  # whether the tenant chooses its rate (Cloud: Meta grants up to 1,000/s)
    send_jitter: float = 0.0         # random share of the interval added between sends (0 to 1)
    burst_seconds: float = 0.1       # how many seconds' worth of sends may go back to back
    concurrent_sends: bool = False   # several requests may be in flight at once (from worker threads)
    async_sends: bool = False        # text and template sends have an async path (`send_async`) for bulk batches

    @property
    def webhooks(self) -> bool:
        """Events arrive at the tenant's webhook URL (set by the tenant or by us)."""
        return self.manual_webhook or self.instance_lifecycle


class Provider(Protocol):
    """The interface of every WhatsApp adapter. Constructors never touch the network.

    Every adapter has every method; one whose capability flag is off raises `NotSupported`.
    """

    kind: str
    capabilities: Capabilities

    def send_text(self, to: str, body: str, *, preview_url: bool = False) -> SendResult: ...

    def send_template(self, to: str, name: str, language: str,
                      components: list[dict[str, Any]] | None = None) -> SendResult: ...

    def send_media(self, to: str, media_type: str, *, link: str | None = None,
                   media_id: str | None = None, caption: str | None = None,
                   filename: str | None = None) -> SendResult: ...

    def upload_media(self, data: bytes, mime_type: str, filename: str) -> str: ...  # media_by_upload

    def media_reference(self, media: dict[str, Any], payload: dict[str, Any]) -> Any | None: ...

    def download_media(self, reference: Any) -> tuple[bytes, str]: ...  # media_download

    def list_templates(self) -> list[dict[str, Any]]: ...  # template_sync

    def subscribe_app(self) -> bool: ...  # webhook_subscription

    def create_instance(self) -> str | None: ...  # instance_lifecycle

    def set_webhook(self, url: str | None = None) -> None: ...  # instance_lifecycle

    def connect(self) -> ConnectResult: ...

    def status(self) -> ChannelStatus: ...

    def disconnect(self) -> None: ...

    def parse_webhook(self, payload: dict[str, Any]) -> list[Event]: ...


class BaseProvider:
    """What an adapter cannot do: each optional method refuses with `NotSupported` unless the adapter has it."""

    kind: str
    capabilities: Capabilities

    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{self.capabilities.title or self.kind} cannot {what}", code="unsupported")

    def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Refused: media goes by link on this provider."""
        raise self._unsupported("upload media")

    def media_reference(self, media: dict[str, Any], payload: dict[str, Any]) -> Any | None:
        """What `download_media` needs for an inbound file, from what the webhook left; None: no way to fetch it."""
        return None

    def download_media(self, reference: Any) -> tuple[bytes, str]:
        """Refused: this provider has no files to fetch."""
        raise self._unsupported("download media")

    def list_templates(self) -> list[dict[str, Any]]:
        """Refused: this provider has no account templates."""
        raise self._unsupported("list message templates")

    def subscribe_app(self) -> bool:
        """Refused: this provider needs no webhook subscription."""
        raise self._unsupported("subscribe to webhooks")

    def create_instance(self) -> str | None:
        """Refused: this provider has no gateway instance."""
        raise self._unsupported("create a gateway instance")

    def set_webhook(self, url: str | None = None) -> None:
        """Refused: this provider's webhook is not ours to set."""
        raise self._unsupported("set its webhook")
