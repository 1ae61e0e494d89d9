"""CSV imports of contacts: the uploaded file, how its columns map, the job's position and every rejected row."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from extensions import db
from models.base import Timestamps
from models.tenancy import TenantScoped
from models.types import UTCDateTime


class ImportState(StrEnum):
    """Draft (uploaded, being mapped) -> queued -> running -> done, or stopped (quota) / failed (with why)."""

    DRAFT = "draft"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


class ImportMode(StrEnum):
    """What a row whose phone is already a contact does."""

    CREATE = "create"    # create new only: the existing contact is left as it is, the row reported
    UPSERT = "upsert"    # create and update by phone


FINISHED_STATES = frozenset({ImportState.DONE, ImportState.STOPPED, ImportState.FAILED})


class ContactImport(TenantScoped, Timestamps, db.Model):
    """One uploaded CSV; `rows_done` is the job's position (data rows handled and committed), so it resumes there."""

    __tablename__ = "contact_imports"
    __tenant_table_args__ = (Index("ix_contact_imports_state_updated", "state", "updated_at"),)

    FILENAME_MAX = 255

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX), nullable=False)
    # The file itself, in the database so a restart or another machine's worker still has it; loaded only by the job.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    encoding: Mapped[str] = mapped_column(String(20), nullable=False)
    delimiter: Mapped[str] = mapped_column(String(1), nullable=False)
    # Column position (as text) -> "name" | "phone" | "email" | "tags" | "custom:<key>"; unmapped columns are left out.
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    mode: Mapped[str] = mapped_column(String(10), nullable=False, default=ImportMode.CREATE)
    tag_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=ImportState.DRAFT)
    total_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    errors: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Runs that started without the position moving since: the sweep gives up (and says so) after a few.
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.rows_done / self.total_rows)) if self.total_rows else 100


class ImportRowError(TenantScoped, db.Model):
    """A row the import refused: its line in the file, the row as it was, and why."""

    __tablename__ = "contact_import_errors"
    __tenant_table_args__ = (
        ForeignKeyConstraint(["tenant_id", "import_id"], ["contact_imports.tenant_id", "contact_imports.id"],
                             ondelete="CASCADE"),
        Index("ix_contact_import_errors_tenant_import_line", "tenant_id", "import_id", "line"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(Integer, nullable=False)
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
