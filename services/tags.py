"""Tags: the rules for saving them, deleting, and the lists the pages show."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import ContactTag, Tag
from services.errors import Duplicate, Invalid

NAME_MAX = 50
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def save_tag(name: str, color: str, tag: Tag | None = None) -> Tag:
    """Validate and create or rename/recolour a tag (flushes; the caller commits)."""
    errors = {}
    taken = False
    clean_name = " ".join((name or "").split())
    if not clean_name:
        errors["name"] = "Enter a tag name."
    elif len(clean_name) > NAME_MAX:
        errors["name"] = f"Keep tag names under {NAME_MAX} characters."
    else:
        clash = db.session.scalar(select(Tag).where(func.lower(Tag.name) == clean_name.lower()))
        if clash is not None and clash is not tag:
            errors["name"] = f"A tag called “{clash.name}” already exists."
            taken = True
    color = (color or "").strip() or "#6c757d"
    if not _COLOR.match(color):
        errors["color"] = "Pick a colour like #1a2b3c."
    if errors:
        raise (Duplicate if taken and len(errors) == 1 else Invalid)(errors)
    tag = tag or Tag()
    tag.name, tag.color = clean_name, color.lower()
    db.session.add(tag)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Saved at the same moment, or a case the database folds differently (SQLite lower() is ASCII-only).
        raise Duplicate({"name": f"A tag called “{clean_name}” already exists."}) from exc
    return tag


def delete_tag(tag: Tag) -> None:
    """Delete `tag`; the contacts that carried it keep everything else (flushes; the caller commits)."""
    db.session.delete(tag)
    db.session.flush()


def all_tags() -> list[Tag]:
    """Every tag of the tenant, by name."""
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def tags_with_counts() -> list[tuple[Tag, int]]:
    """Every tag with how many contacts carry it, by name."""
    counts = (
        select(ContactTag.tag_id, func.count(ContactTag.id).label("n")).group_by(ContactTag.tag_id).subquery()
    )
    rows = db.session.execute(
        select(Tag, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.tag_id == Tag.id).order_by(Tag.name)
    )
    return [(tag, count) for tag, count in rows]
