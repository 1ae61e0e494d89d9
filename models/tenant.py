"""The tenant: an account created at sign-up, root of every tenant-owned row."""
from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps

# English, Spanish and Portuguese defaults; each tenant can edit its own list.
DEFAULT_OPT_OUT = "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, BAJA, PARAR, DETENER, CANCELAR, SAIR, DESCADASTRAR"
DEFAULT_OPT_IN = "START, UNSTOP, SUBSCRIBE, ALTA, INICIAR, VOLTAR"


class Tenant(Timestamps, db.Model):
    """An account; not TenantScoped because it *is* the scope."""

    __tablename__ = "tenants"

    ACTIVE = "active"
    SUSPENDED = "suspended"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ACTIVE)
    # ISO 3166 region used to read phone numbers typed without a country code.
    default_region: Mapped[str] = mapped_column(String(2), nullable=False, default="US")
    # IANA zone in which the workspace's schedules (broadcasts, drips, send windows) are read.
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC", server_default="UTC")

    # Opt-out words customers text to stop (or restart) messages; comma-separated, case-insensitive.
    opt_out_keywords: Mapped[str] = mapped_column(Text, nullable=False, default=DEFAULT_OPT_OUT)
    opt_in_keywords: Mapped[str] = mapped_column(Text, nullable=False, default=DEFAULT_OPT_IN)
    # Stored history limits, enforced by the nightly retention job.
    retention_days: Mapped[int] = mapped_column(Integer, nullable=False, default=365)
    retention_max_messages: Mapped[int] = mapped_column(Integer, nullable=False, default=100_000)
    # Quotas set by a platform admin; empty means the install's default (QUOTA_* settings).
    quota_contacts: Mapped[int | None] = mapped_column(Integer)
    quota_messages_per_day: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_suspended(self) -> bool:
        """True when an admin suspended the account."""
        return self.status == self.SUSPENDED
