"""Segments: saved filters over contacts, their audiences, counts and previews.

Every query here is one SQL statement built from the filter (services.segments.filters); nothing is
filtered in Python. Lists and previews show opted-out contacts (marked by the page, so a person sees
why a broadcast will reach fewer); a bulk audience never contains them.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from extensions import db
from models import Contact, Segment
from services.errors import Invalid
from services.outbox import bulk_reachable
from services.segments.filters import (
    OPERATORS,
    Operator,
    compile_definition,
    counts_by_trigrams,
    empty_definition,
    register_operator,
    validate_definition,
)
from services.text_search import trigram_lookups
from services.workspace import workspace_zone

__all__ = ["OPERATORS", "Operator", "Preview", "all_segments", "audience", "count_matching", "criterion",
           "delete_segment", "empty_definition", "matching_contacts", "preview", "register_operator", "save_segment",
           "segments_with_counts", "validate_definition"]

PREVIEW_SIZE = 10


def _definition(segment_or_filter: Segment | dict[str, Any]) -> dict[str, Any]:
    """The filter of a saved segment (validated when saved) or a filter, validated now."""
    if isinstance(segment_or_filter, Segment):
        definition = segment_or_filter.definition
        # A stored filter naming an operator that is no longer registered is refused, never half-applied.
        if any(c.get("op") not in OPERATORS for c in definition.get("conditions", [])):
            raise Invalid({"conditions": "This segment uses a condition that no longer exists. Edit it."})
        return definition
    return validate_definition(segment_or_filter)


def _criterion(segment_or_filter: Segment | dict[str, Any], zone: ZoneInfo | None = None):
    """The SQL criterion of a saved segment or of a filter."""
    return compile_definition(_definition(segment_or_filter), zone or workspace_zone())


def criterion(segment: Segment):
    """The segment's condition on Contact, for lists that filter by it (the contacts list)."""
    return _criterion(segment)


def audience(segment_or_filter: Segment | dict[str, Any], *, for_bulk: bool = True) -> Select:
    """SELECT of the matching contact ids; with `for_bulk` (the default) opted-out contacts are left out."""
    stmt = select(Contact.id).where(_criterion(segment_or_filter))
    return stmt.where(bulk_reachable()) if for_bulk else stmt


def matching_contacts(segment_or_filter: Segment | dict[str, Any]) -> Select:
    """SELECT of the matching contacts, newest first, opted-out ones included (pages mark them)."""
    return (select(Contact).where(_criterion(segment_or_filter))
            .order_by(Contact.created_at.desc(), Contact.id.desc()))


def _counts(criterion) -> Select:
    """(matching, of them reachable by bulk sends) in one scan."""
    return select(func.count(Contact.id), func.coalesce(func.sum(case((bulk_reachable(), 1), else_=0)), 0)
                  ).where(criterion)


def _count(definition: dict[str, Any], zone: ZoneInfo) -> tuple[int, int]:
    """(matching, reachable) for a validated filter; a text search among its conditions reads the trigram indexes,
    as the contacts list's count of a search does (filters.counts_by_trigrams says when)."""
    with trigram_lookups() if counts_by_trigrams(definition) else nullcontext():
        total, reachable = db.session.execute(_counts(compile_definition(definition, zone))).one()
    return int(total), int(reachable)


def count_matching(segment_or_filter: Segment | dict[str, Any]) -> tuple[int, int]:
    """(contacts matching, of them reachable by bulk sends)."""
    return _count(_definition(segment_or_filter), workspace_zone())


@dataclass
class Preview:
    """What the segment form shows as the filter changes."""

    total: int
    reachable: int
    contacts: list[Contact]

    @property
    def opted_out(self) -> int:
        return self.total - self.reachable


def preview(segment_or_filter: Segment | dict[str, Any], size: int = PREVIEW_SIZE) -> Preview:
    """Counts and the first `size` matching contacts (the filter is validated first)."""
    zone = workspace_zone()
    definition = _definition(segment_or_filter)
    total, reachable = _count(definition, zone)
    # The preview shows no tags: skip the relationship's selectin query (it still loads if a page asks).
    # The first ten are left to the planner: when matches are common, the newest-first walk stops early.
    first = (select(Contact).where(compile_definition(definition, zone)).options(lazyload(Contact.tags))
             .order_by(Contact.created_at.desc(), Contact.id.desc()).limit(size))
    return Preview(total, reachable, list(db.session.scalars(first)))


def all_segments() -> list[Segment]:
    """Every segment of the tenant, by name."""
    return list(db.session.scalars(select(Segment).order_by(func.lower(Segment.name))))


def segments_with_counts() -> list[tuple[Segment, int | None, int | None]]:
    """Every segment with (matching, reachable) counts, counted in one statement (one branch per segment).

    A segment whose stored filter no longer compiles gets None counts instead of breaking the page.
    """
    segments = all_segments()
    zone = workspace_zone()
    branches = []
    for segment in segments:
        try:
            criterion = _criterion(segment, zone)
        except Invalid:
            continue
        branches.append(_counts(criterion).add_columns(literal(segment.id).label("segment_id")))
    counts: dict[int, tuple[int, int]] = {}
    if branches:
        rows = db.session.execute(union_all(*branches) if len(branches) > 1 else branches[0])
        counts = {segment_id: (int(total), int(reachable)) for total, reachable, segment_id in rows}
    return [(s, *counts.get(s.id, (None, None))) for s in segments]


def save_segment(name: str, definition: Any, segment: Segment | None = None) -> Segment:
    """Validate and create or update a segment (flushes; the caller commits)."""
    errors: dict[str, str] = {}
    clean_name = " ".join((name or "").split())
    if not clean_name:
        errors["name"] = "Enter a name for the segment."
    elif len(clean_name) > Segment.NAME_MAX:
        errors["name"] = f"Keep the name under {Segment.NAME_MAX} characters."
    else:
        clash = db.session.scalar(select(Segment).where(func.lower(Segment.name) == clean_name.lower()))
        if clash is not None and clash is not segment:
            errors["name"] = f"A segment called “{clash.name}” already exists."
    try:
        clean = validate_definition(definition)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    segment = segment or Segment()
    segment.name, segment.definition = clean_name, clean
    db.session.add(segment)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a segment of that name was saved at the same moment
        raise Invalid({"name": f"A segment called “{clean_name}” already exists."}) from exc
    return segment


def delete_segment(segment: Segment) -> None:
    """Delete `segment`; no contact changes (flushes; the caller commits)."""
    db.session.delete(segment)
    db.session.flush()
