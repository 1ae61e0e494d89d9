"""/api/v1/tags: list with contact counts, create."""
from __future__ import annotations

from flask import request
from pydantic import BaseModel, Field

from blueprints.api.blueprint import operation
from extensions import db
from services.tags import NAME_MAX, save_tag, tags_with_counts

TAG = "Tags"


class TagOut(BaseModel):
    """A tag and how many contacts carry it."""

    id: int
    name: str
    color: str
    contacts: int = 0


class TagList(BaseModel):
    """Every tag of the workspace, by name."""

    items: list[TagOut]


class TagCreate(BaseModel):
    """A new tag (names are unique in a workspace, whatever their case)."""

    name: str = Field(max_length=NAME_MAX)
    color: str = Field("#6c757d", pattern=r"^#[0-9a-fA-F]{6}$")


@operation("/tags", tag=TAG, ok=TagList)
def list_tags():
    """The workspace's tags."""
    return TagList(items=[TagOut(id=t.id, name=t.name, color=t.color, contacts=n) for t, n in tags_with_counts()])


@operation("/tags", "POST", tag=TAG, body=TagCreate, ok=TagOut, status=201, errors=(409,))
def create_tag():
    """Create a tag (409 when the name is taken)."""
    data: TagCreate = request.context.json
    tag = save_tag(data.name, data.color)
    db.session.commit()
    return TagOut(id=tag.id, name=tag.name, color=tag.color), 201
