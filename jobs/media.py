"""Downloading inbound media into the tenant's storage."""
from __future__ import annotations

import base64
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from extensions import db
from jobs.context import tenant_job
from models import Channel, Message
from services.channels import capabilities_for, get_channel, provider_for
from services.media_store import save_media
from whatsapp.base import RetryableError

log = logging.getLogger(__name__)
DOWNLOAD_MAX = 100 * 1024 * 1024


@tenant_job
def fetch_inbound_media(tenant_id: int, message_id: int) -> str:
    """Fetch the bytes of an inbound message's media once; failures are written on the message."""
    message = db.session.scalar(select(Message).where(Message.id == message_id))
    if message is None or not message.media or message.media.get("path"):
        return "nothing to do"
    media, payload = dict(message.media), dict(message.payload or {})
    try:
        fetch = _fetcher(get_channel(), media, payload)
        # A gateway download can take minutes; no transaction stays open meanwhile.
        db.session.rollback()
        data, mime_type = fetch()
    except RetryableError:
        raise  # RQ's retry policy on the enqueue decides; the row is untouched
    except Exception as exc:  # a permanent failure: say why on the message
        db.session.rollback()
        media["error"] = f"Could not download the file: {exc}"[:500]
        message.media = media
        db.session.commit()
        return "failed"
    if len(data) > DOWNLOAD_MAX:
        media["error"] = "The file is larger than MessageHub stores."
    else:
        media.update(path=save_media(data, mime_type), size=len(data), mime_type=mime_type or media.get("mime_type"))
        media.pop("error", None)
        if "media_base64" in payload:
            # The file is on disk now; a second copy in the row only weighs on every read.
            message.payload = {k: v for k, v in payload.items() if k != "media_base64"} or None
            flag_modified(message, "payload")
    message.media = media
    flag_modified(message, "media")
    db.session.commit()
    return "stored" if "path" in media else "failed"


def _fetcher(channel: Channel | None, media: dict, payload: dict) -> Callable[[], tuple[bytes, str]]:
    """How to get this file's bytes; everything that reads the database happens here, not in the call."""
    inline = payload.get("media_base64")
    if inline:
        return lambda: (base64.b64decode(inline), media.get("mime_type") or "application/octet-stream")
    if channel is None:
        raise RuntimeError("no WhatsApp linked to download from")
    if not capabilities_for(channel.kind).media_download:
        raise RuntimeError("the provider sent no way to fetch this file")
    # Webhooks arrive without the file; the provider says what fetching it takes (a media id, a message).
    provider = provider_for(channel)
    reference = provider.media_reference(media, payload)
    if reference is None:
        raise RuntimeError("the provider sent no way to fetch this file")
    return lambda: provider.download_media(reference)
