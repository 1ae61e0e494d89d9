"""A tenant's WhatsApp channel: Cloud API credentials, a QR-linked gateway device, or the sandbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import ChannelKind, ConnectionState
from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped
from models.types import EncryptedText, UTCDateTime


class Channel(TenantScoped, Timestamps, db.Model):
    """One channel per tenant. Secrets are EncryptedText; URL tokens are looked up by digest."""

    __tablename__ = "channels"
    __tenant_table_args__ = (UniqueConstraint("tenant_id"),)

    # Old spellings of ChannelKind, kept while callers move to it.
    CLOUD = ChannelKind.CLOUD
    GATEWAY = ChannelKind.GATEWAY
    SANDBOX = ChannelKind.SANDBOX

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # a ChannelKind
    state: Mapped[str] = mapped_column(String(20), nullable=False, default=ConnectionState.NOT_CONFIGURED)
    state_detail: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Webhook URL token: the digest finds the tenant, the encrypted copy lets the owner see the URL again.
    webhook_token_digest: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    webhook_token: Mapped[str] = mapped_column(EncryptedText, nullable=False)
    verify_token: Mapped[str | None] = mapped_column(EncryptedText)

    # Cloud API
    phone_number_id: Mapped[str | None] = mapped_column(String(64))
    waba_id: Mapped[str | None] = mapped_column(String(64))
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    app_secret: Mapped[str | None] = mapped_column(EncryptedText)
    verified_name: Mapped[str | None] = mapped_column(String(200))
    quality_rating: Mapped[str | None] = mapped_column(String(20))
    webhooks_subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Gateway (QR-linked device) and sandbox
    instance_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    instance_token: Mapped[str | None] = mapped_column(EncryptedText)
    qr_code: Mapped[str | None] = mapped_column(Text)

    # Sending: a paused channel refuses sends until a human fixes it (expired token, spam block).
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    rate_per_second: Mapped[float | None] = mapped_column(Float)

    # Shown in the badge once linked
    phone_number: Mapped[str | None] = mapped_column(String(32))
    profile_name: Mapped[str | None] = mapped_column(String(200))

    @property
    def connection_state(self) -> ConnectionState:
        """The state as an enum."""
        return ConnectionState(self.state)

    @property
    def is_connected(self) -> bool:
        """True when messages can flow."""
        return self.state == ConnectionState.CONNECTED
