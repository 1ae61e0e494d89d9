"""/api/v1/segments: saved contact filters with their counts, and the contacts each matches."""
from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel, Field

from blueprints.api.blueprint import operation, path_model, path_object
from blueprints.api.contacts import ContactList, contact_out
from blueprints.api.schemas import PageQuery
from models import Segment
from services.contacts import SORT_KEYS
from services.paging import keyset_page
from services.segments import matching_contacts, segments_with_counts

path_model("segment_id", Segment)
TAG = "Segments"


class SegmentOut(BaseModel):
    """A segment: its filter and how many contacts it matches (null when its filter no longer applies)."""

    id: int
    name: str
    definition: dict[str, Any] = Field(description="The filter, as the segment editor saves it.")
    contacts: int | None
    reachable: int | None = Field(description="Matching contacts that have not opted out.")


class SegmentList(BaseModel):
    """Every segment of the workspace, by name."""

    items: list[SegmentOut]


@operation("/segments", tag=TAG, ok=SegmentList)
def list_segments():
    """The workspace's segments with their counts."""
    return SegmentList(items=[SegmentOut(id=s.id, name=s.name, definition=s.definition or {}, contacts=total,
                                         reachable=reachable) for s, total, reachable in segments_with_counts()])


@operation("/segments/<int:segment_id>/members", tag=TAG, query=PageQuery, ok=ContactList)
def segment_members(segment_id: int):
    """The contacts a segment matches now, newest first (opted-out ones included, marked)."""
    segment = path_object("segment_id")
    query: PageQuery = request.context.query
    items, next_cursor = keyset_page(matching_contacts(segment), SORT_KEYS, query.cursor, query.limit)
    return ContactList(items=[contact_out(c) for c in items], next_cursor=next_cursor)
