"""Users log in; each belongs to one tenant."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, inspect, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from extensions import db
from models.base import Timestamps
from models.tenant import Tenant
from models.types import UTCDateTime


class User(UserMixin, Timestamps, db.Model):
    """A person who logs in.

    Not TenantScoped: login looks a user up by email before any tenant is known, so the
    users table is read by identity (email or id) only, never listed outside admin code.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column("is_active", Boolean, nullable=False, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session and remember-me cookie; bumping it ends every copy of them.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses inactive users; a suspended tenant makes its users inactive too."""
        return bool(self.active) and not self.tenant.is_suspended

    def get_id(self) -> str:
        """The identity stored in the session and remember-me cookies: "<id>:<session version>"."""
        return f"{self.id}:{self.session_version}"


def _became(obj, attribute: str, value) -> bool:
    """True when this flush changes `attribute` of `obj` to `value`."""
    history = inspect(obj).attrs[attribute].history
    return bool(history.added) and history.added[0] == value and value not in (history.deleted or ())


def init_app(app) -> None:
    """End the sessions of users and tenants when they are suspended (see below)."""
    from extensions import AppSession
    from models.tenancy import listen_once

    listen_once(AppSession, "before_flush", _end_sessions_on_suspension)


def _end_sessions_on_suspension(session: Session, _flush_context, _instances) -> None:
    """Suspending a user or a tenant ends every session, so reinstating it later revives no old cookie."""
    for obj in list(session.dirty):
        if isinstance(obj, User) and _became(obj, "active", False):
            obj.session_version = User.session_version + 1
        elif isinstance(obj, Tenant) and _became(obj, "status", Tenant.SUSPENDED):
            session.execute(
                update(User).where(User.tenant_id == obj.id).values(session_version=User.session_version + 1)
                .execution_options(synchronize_session=False)
            )
