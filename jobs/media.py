"""Downloading inbound media into the tenant's storage."""
from __future__ import annotations

import base64
import logging

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from extensions import db
from jobs.context import tenant_job
from models import Channel, Message
from services.channels import get_channel, provider_for
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
    media = dict(message.media)
    channel = get_channel()
    try:
        data, mime_type = _download(channel, message)
    except RetryableError:
        raise  # RQ's retry policy on the enqueue decides; the row is untouched
    except Exception as exc:  # a permanent failure: say why on the message
        media["error"] = f"Could not download the file: {exc}"[:500]
        message.media = media
        db.session.commit()
        return "failed"
    if len(data) > DOWNLOAD_MAX:
        media["error"] = "The file is larger than MessageHub stores."
    else:
        media.update(path=save_media(data, mime_type), size=len(data), mime_type=mime_type or media.get("mime_type"))
        media.pop("error", None)
    message.media = media
    flag_modified(message, "media")
    db.session.commit()
    return "stored" if "path" in media else "failed"


def _download(channel: Channel | None, message: Message) -> tuple[bytes, str]:
    media = message.media
    inline = (message.payload or {}).get("media_base64")
    if inline:
        return base64.b64decode(inline), media.get("mime_type") or "application/octet-stream"
    if channel is None:
        raise RuntimeError("no WhatsApp linked to download from")
    if channel.kind == Channel.CLOUD and media.get("media_id"):
        return provider_for(channel).download_media(media["media_id"])
    if media.get("url"):
        raise RuntimeError("the gateway sent a link without the file; enable base64 media on the gateway")
    raise RuntimeError("the provider sent no way to fetch this file")
