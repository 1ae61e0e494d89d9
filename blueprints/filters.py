"""Jinja filters: how values read on screen (previews, ages, sizes, phone numbers, times), kept out of the services."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from markupsafe import Markup

from models import Message
from models.base import utcnow
from services.phones import format_phone

PREVIEW_CHARS = 80
# What a message without text looks like in the conversation list.
PLACEHOLDERS = {
    "image": "[image]", "document": "[document]", "audio": "[audio]", "video": "[video]", "sticker": "[sticker]",
    "location": "[location]", "contacts": "[contact card]", "interactive": "[reply]", "button": "[button]",
    "reaction": "[reaction]", "unsupported": "[unsupported message]", "template": "[template]",
}
_MEDIA = ("image", "document", "audio", "video", "sticker")


def init_app(app: Flask) -> None:
    """Make the filters available to every template."""
    app.jinja_env.filters.update(
        phone=format_phone, preview=preview, ago=relative_time, filesize=filesize, time_left=time_left,
        local_time=local_time,
    )


def preview(message: Message | None) -> str:
    """One short line for the conversation list."""
    if message is None:
        return ""
    if message.type == "reaction":
        emoji = (message.payload or {}).get("emoji")
        return f"Reacted {emoji}" if emoji else "Removed a reaction"
    label = PLACEHOLDERS.get(message.type, "")
    body = " ".join((message.body or "").split())
    if message.type in _MEDIA and body:
        body = f"{label} {body}"
    body = body or label
    return body if len(body) <= PREVIEW_CHARS else body[:PREVIEW_CHARS - 1].rstrip() + "…"


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """Short age of a timestamp for lists: "now", "5 min", "3 h", "Mon", "12 Mar"."""
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 6 * 86400:
        return value.strftime("%a")
    if value.year == now.year:
        return value.strftime("%-d %b")
    return value.strftime("%-d %b %Y")


# What a <time> says before static/js/app.js rewrites it in the reader's zone (or without JavaScript).
_UTC_FORMATS = {"time": "%H:%M", "date": "%-d %B %Y", "datetime": "%Y-%m-%d %H:%M"}


def local_time(value: datetime | None, kind: str = "datetime") -> Markup:
    """A <time> element the browser shows in the reader's own zone; `kind` is "datetime", "date" or "time"."""
    if value is None:
        return Markup("")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    fallback = value.strftime(_UTC_FORMATS[kind]) + (" UTC" if kind != "date" else "")
    return Markup('<time datetime="{}" data-local="{}" title="{}">{}</time>').format(
        value.isoformat(), kind, value.strftime("%Y-%m-%d %H:%M UTC"), fallback)


def time_left(until: datetime) -> str:
    """Time left until `until`, like "5 h 12 min"."""
    minutes = max(0, int((until - utcnow()).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def filesize(size: float | None) -> str:
    """A byte count as people read it: "512 B", "1.5 KB", "3.2 MB"."""
    if not size:
        return ""
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
