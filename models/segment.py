"""Segments: saved contact filters, the audiences of bulk features."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped


class Segment(TenantScoped, Timestamps, db.Model):
    """A named filter over the tenant's contacts; `definition` is `{"version": 1, "conditions": [...]}`.

    The definition is compiled to SQL by services.segments; names are unique per tenant regardless of case.
    """

    __tablename__ = "segments"

    NAME_MAX = 80

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


# "VIP" and "vip" would be two segments nobody can tell apart in a picker.
Index("uq_segments_tenant_lower_name", Segment.tenant_id, func.lower(Segment.name), unique=True)
