"""Per-tenant file storage for message media under the instance folder."""
from __future__ import annotations

import mimetypes
import secrets
from pathlib import Path

from flask import current_app

from models.tenancy import current_tenant_id

# What WhatsApp accepts, and the largest size per kind (Cloud API limits).
MEDIA_LIMITS = {
    "image": ({"image/jpeg", "image/png"}, 5 * 1024 * 1024),
    "document": ({"application/pdf", "text/plain", "application/msword",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "application/vnd.ms-powerpoint",
                  "application/vnd.openxmlformats-officedocument.presentationml.presentation"}, 100 * 1024 * 1024),
    "audio": ({"audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"}, 16 * 1024 * 1024),
    "video": ({"video/mp4", "video/3gpp"}, 16 * 1024 * 1024),
    "sticker": ({"image/webp"}, 500 * 1024),
}


class MediaRejected(ValueError):
    """The file cannot be sent; the message says why."""


def media_kind(mime_type: str) -> str | None:
    """The WhatsApp media kind that accepts `mime_type`, if any (images before stickers)."""
    for kind, (types, _limit) in MEDIA_LIMITS.items():
        if mime_type in types:
            return kind
    return None


def check_upload(filename: str, mime_type: str, size: int, allowed_kinds=("image", "document")) -> str:
    """Validate an outbound attachment; returns its kind or raises MediaRejected."""
    mime_type = (mime_type or "").split(";")[0].strip().lower() or (mimetypes.guess_type(filename)[0] or "")
    kind = media_kind(mime_type)
    if kind not in allowed_kinds:
        raise MediaRejected(f"{filename or 'This file'} ({mime_type or 'unknown type'}) cannot be sent: "
                            "use JPEG or PNG images, or PDF, Word, Excel, PowerPoint or text documents.")
    limit = MEDIA_LIMITS[kind][1]
    if size <= 0:
        raise MediaRejected("The file is empty.")
    if size > limit:
        raise MediaRejected(f"{filename} is {size / 1048576:.1f} MB; WhatsApp accepts {kind}s up to "
                            f"{limit // 1048576} MB.")
    return kind


def _root() -> Path:
    return Path(current_app.instance_path) / "media"


def save_media(data: bytes, mime_type: str) -> str:
    """Store bytes for the current tenant; returns the path relative to the media root."""
    tenant = current_tenant_id()
    extension = mimetypes.guess_extension(mime_type or "") or ".bin"
    relative = f"{tenant}/{secrets.token_hex(16)}{extension}"
    path = _root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative


def media_path(relative: str) -> Path:
    """Absolute path of a stored file, refusing paths outside the current tenant's folder."""
    tenant_folder = (_root() / str(current_tenant_id())).resolve()
    path = (_root() / relative).resolve()
    if tenant_folder not in path.parents:
        raise PermissionError("media outside the tenant's folder")
    return path


def delete_media(relative: str | None) -> None:
    """Remove a stored file if it exists."""
    if relative:
        try:
            media_path(relative).unlink(missing_ok=True)
        except PermissionError:
            pass
