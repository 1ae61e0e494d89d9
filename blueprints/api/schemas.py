"""Schemas shared by every resource: problems and list pages."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

# An id as the databases store it (a 32-bit integer): larger numbers are refused as input, never passed on.
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class FieldError(BaseModel):
    """One refused field."""

    field: str | None = Field(description="The field (dotted for nested ones); empty for the request as a whole.")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class PageQuery(BaseModel):
    """Cursor paging: pass a page's `next_cursor` as `cursor` for the next one."""

    cursor: str | None = Field(None, pattern=r"^\d{1,17}_\d{1,10}$", description="`next_cursor` of the previous page.")
    limit: int = Field(25, ge=1, le=100)


class Deleted(BaseModel):
    """What a delete removed."""

    id: int
    deleted: bool = True
