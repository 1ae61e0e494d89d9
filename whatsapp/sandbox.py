"""A provider that needs no account: it behaves like a linked phone, on this server.

Outbound sends get provider ids and trigger sent -> delivered -> read receipts through
`on_send`, which the app wires to jobs that feed sandbox webhook bodies into the same
event pipeline real webhooks use. Its QR encodes a link to a page that plays the phone.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.enums import ChannelKind, MessageStatus
from whatsapp.base import (
    BaseProvider,
    Capabilities,
    ChannelStatus,
    ConnectionEvent,
    ConnectionState,
    ConnectResult,
    Event,
    InboundMessage,
    OptOutEvent,
    RecipientError,
    SendResult,
    StatusUpdate,
)

log = logging.getLogger(__name__)
SANDBOX_NUMBER = "15550100999"
SANDBOX_NAME = "MessageHub Sandbox"


def new_message_id(prefix: str = "out") -> str:
    """A provider message id in the sandbox's own namespace."""
    return f"sandbox.{prefix}.{secrets.token_hex(10)}"


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


class SandboxProvider(BaseProvider):
    """The sandbox channel; `on_send(provider_message_id, to)` schedules its receipts."""

    kind = ChannelKind.SANDBOX
    # The sandbox plays every provider, templates included, so everything can be tried without an account.
    capabilities = Capabilities(name="Sandbox", title="Sandbox", templates=True, media_by_link=True, qr_link=True,
                                qr_is_link=True, default_rate=80.0, max_rate=80.0, burst_seconds=0.1)

    def __init__(self, instance_name: str, *, phone_url: str, state: ConnectionState = ConnectionState.PENDING,
                 on_send: Callable[[str, str], None] | None = None):
        self.instance_name = instance_name
        self.phone_url = phone_url
        self.state = state
        self.on_send = on_send

    def _accept(self, to: str) -> SendResult:
        digits = "".join(ch for ch in str(to) if ch.isdigit())
        if not digits:
            raise RecipientError("The recipient has no phone number", code="sandbox-no-number")
        message_id = new_message_id()
        if self.on_send is not None:
            self.on_send(message_id, digits)
        return SendResult(message_id)

    def send_text(self, to: str, body: str, *, preview_url: bool = False) -> SendResult:
        """Accept a text message."""
        return self._accept(to)

    def send_template(self, to: str, name: str, language: str,
                      components: list[dict[str, Any]] | None = None) -> SendResult:
        """Accept a template message (every template is approved in the sandbox)."""
        return self._accept(to)

    def send_media(self, to: str, media_type: str, *, link: str | None = None, media_id: str | None = None,
                   caption: str | None = None, filename: str | None = None) -> SendResult:
        """Accept a media message."""
        return self._accept(to)

    def connect(self) -> ConnectResult:
        """The QR is a link to the phone page; opening it and pressing "scan" links the sandbox."""
        if self.state == ConnectionState.CONNECTED:
            return ConnectResult(ConnectionState.CONNECTED, phone_number=SANDBOX_NUMBER, profile_name=SANDBOX_NAME)
        return ConnectResult(ConnectionState.PENDING, qr=self.phone_url)

    def status(self) -> ChannelStatus:
        """The sandbox's state is whatever its own events made it."""
        linked = self.state == ConnectionState.CONNECTED
        return ChannelStatus(self.state, phone_number=SANDBOX_NUMBER if linked else None,
                             profile_name=SANDBOX_NAME if linked else None,
                             qr=None if linked else self.phone_url)

    def disconnect(self) -> None:
        """Nothing remote to unlink."""

    def parse_webhook(self, payload: dict[str, Any]) -> list[Event]:
        """Parse the sandbox's own event bodies (see `sandbox_body`)."""
        if payload.get("instance") != self.instance_name:
            log.warning("sandbox event for another instance ignored")
            return []
        kind = payload.get("event")
        at = _timestamp(payload.get("timestamp"))
        if kind == "connection":
            return [ConnectionEvent(ConnectionState(payload["state"]), phone_number=payload.get("phone"),
                                    profile_name=payload.get("name"))]
        if kind == "message":
            return [InboundMessage(provider_message_id=payload["id"], wa_id=payload["from"], timestamp=at,
                                   type="text", text=payload.get("text", ""), profile_name=payload.get("name"))]
        if kind == "status" and payload.get("status") in {status.value for status in MessageStatus}:
            return [StatusUpdate(provider_message_id=payload["id"], status=MessageStatus(payload["status"]),
                                 timestamp=at, recipient_wa_id=payload.get("to"))]
        if kind == "opt_out":
            return [OptOutEvent(wa_id=payload["from"], timestamp=at)]
        log.warning("unknown sandbox event %r ignored", kind)
        return []


def sandbox_body(instance_name: str, event: str, **fields: Any) -> dict[str, Any]:
    """Build a sandbox event body, stamped now."""
    return {"instance": instance_name, "event": event,
            "timestamp": datetime.now(UTC).timestamp(), **fields}
