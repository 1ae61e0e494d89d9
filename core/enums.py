"""The closed sets MessageHub speaks in. StrEnums, so they compare equal to the strings stored in the database."""
from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    """How a tenant's WhatsApp is linked."""

    CLOUD = "cloud"        # WhatsApp Business Cloud API credentials
    GATEWAY = "gateway"    # a linked device scanned by QR through a self-hosted gateway
    SANDBOX = "sandbox"    # the built-in pretend phone


class ConnectionState(StrEnum):
    """Linking state of a tenant's channel, shown in the navigation badge."""

    NOT_CONFIGURED = "not_configured"
    PENDING = "pending"          # waiting for a QR scan or a credentials test
    CONNECTED = "connected"
    EXPIRED = "expired"          # QR expired or scan refused
    DISCONNECTED = "disconnected"
    ERROR = "error"


class Direction(StrEnum):
    """Which way a message went."""

    INBOUND = "in"
    OUTBOUND = "out"


class MessageStatus(StrEnum):
    """Where a message is: outbound ones move queued -> sending -> sent -> delivered -> read, or fail."""

    RECEIVED = "received"  # inbound
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNKNOWN = "unknown"    # interrupted after the request left: it may have been delivered


class MessageOrigin(StrEnum):
    """Who asked for an outbound message; decides its queue and the bulk rules it follows."""

    INBOX = "inbox"
    SYSTEM = "system"      # confirmations MessageHub sends on its own (opt-out, opt-in)
    API = "api"
    BROADCAST = "broadcast"
    DRIP = "drip"
    WORKFLOW = "workflow"
    SCHEDULED = "scheduled"


class TenantStatus(StrEnum):
    """Whether a workspace may be used."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class ConversationStatus(StrEnum):
    """Whether a conversation still needs someone (open) or was dealt with (resolved)."""

    OPEN = "open"
    RESOLVED = "resolved"


class BroadcastStatus(StrEnum):
    """A broadcast's life: drafted, maybe scheduled, sending (or paused), then completed or cancelled."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RecipientState(StrEnum):
    """One recipient of a broadcast; once sent, delivery and read receipts live on its message."""

    QUEUED = "queued"
    SENDING = "sending"    # claimed by a batch: its send may have left, so it is never claimed again blindly
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"    # interrupted after the request left: may have been delivered, not resent
    SKIPPED = "skipped"    # never sent, with the reason (opted out, window closed, ...)
    CANCELLED = "cancelled"
