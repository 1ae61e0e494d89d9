"""/api/v1/conversations and messages: list, a conversation's messages, send text, template or media, status."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from flask import request
from pydantic import BaseModel, Field
from sqlalchemy import select

from blueprints.api.blueprint import operation, path_model, path_object
from blueprints.api.contacts import ContactOut, contact_out
from blueprints.api.problems import ApiProblem
from blueprints.api.schemas import DbId, PageQuery
from extensions import db
from models import Message, MessageTemplate
from services.inbox import conversations
from services.outbox import CAPTION_MAX, TEXT_MAX, queue_media, queue_template, queue_text
from services.paging import capped_page, keyset_page, last_numbered_page

path_model("message_id", Message)
TAG = "Conversations"
MESSAGE_KEYS = (Message.created_at, Message.id)
# Base64 of the largest upload the media store takes (16 MB) and a little over.
MEDIA_B64_MAX = 23_000_000


class ConversationQuery(BaseModel):
    """Filters of the conversation list (numbered pages: it is sorted by the latest message, which moves)."""

    state: Literal["all", "open", "resolved", "unread"] = "all"
    q: str | None = Field(None, max_length=200, description="Text in the name, phone or any message.")
    page: int = Field(1, ge=1, le=last_numbered_page(100))
    limit: int = Field(25, ge=1, le=100)


class ConversationList(BaseModel):
    """Contacts with messages, latest conversation first."""

    items: list[ContactOut]
    next_page: int | None


class MessageOut(BaseModel):
    """A message and where it is on its way."""

    id: int
    contact_id: int
    direction: Literal["in", "out"]
    type: str
    body: str | None
    status: str = Field(description="queued, sending, sent, delivered, read, failed, unknown (out); received (in)")
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None


class MessageList(BaseModel):
    """A conversation's messages, newest first."""

    items: list[MessageOut]
    next_cursor: str | None


class TextMessage(BaseModel):
    """Free-form text (within the customer-service window on the Cloud API)."""

    type: Literal["text"]
    text: str = Field(min_length=1, max_length=TEXT_MAX)


class TemplateMessage(BaseModel):
    """An approved template with its variables, in order (allowed outside the window)."""

    type: Literal["template"]
    template_id: DbId
    variables: list[Annotated[str, Field(max_length=1024)]] = Field(default_factory=list, max_length=20)


class MediaMessage(BaseModel):
    """An image or a document, sent as base64."""

    type: Literal["media"]
    filename: str = Field(min_length=1, max_length=200)
    mime_type: str = Field(min_length=1, max_length=100)
    data: str = Field(min_length=1, max_length=MEDIA_B64_MAX, description="The file, base64-encoded.")
    caption: str | None = Field(None, max_length=CAPTION_MAX)


class SendMessage(BaseModel):
    """What to send: text, template or media."""

    message: Annotated[TextMessage | TemplateMessage | MediaMessage, Field(discriminator="type")]


def message_out(message: Message) -> MessageOut:
    """A message as the API shows it."""
    return MessageOut(id=message.id, contact_id=message.contact_id, direction=message.direction, type=message.type,
                      body=message.body, status=message.status, error=message.error_title,
                      created_at=message.created_at, sent_at=message.sent_at, delivered_at=message.delivered_at,
                      read_at=message.read_at)


@operation("/conversations", tag=TAG, query=ConversationQuery, ok=ConversationList)
def list_conversations():
    """Conversations, latest message first."""
    query: ConversationQuery = request.context.query
    page = capped_page(conversations(query.q or "", query.state), query.page, query.limit)
    return ConversationList(items=[contact_out(c) for c in page.items],
                            next_page=page.next_num if page.has_next and page.page < last_numbered_page(query.limit)
                            else None)


@operation("/conversations/<int:contact_id>/messages", tag=TAG, query=PageQuery, ok=MessageList)
def list_messages(contact_id: int):
    """A contact's messages, newest first."""
    contact = path_object("contact_id")
    query: PageQuery = request.context.query
    stmt = select(Message).where(Message.contact_id == contact.id).order_by(*(k.desc() for k in MESSAGE_KEYS))
    items, next_cursor = keyset_page(stmt, MESSAGE_KEYS, query.cursor, query.limit)
    return MessageList(items=[message_out(m) for m in items], next_cursor=next_cursor)


@operation("/conversations/<int:contact_id>/messages", "POST", tag=TAG, body=SendMessage, ok=MessageOut,
           status=202, errors=(409,))
def send_message(contact_id: int):
    """Queue a message to the contact (202: it is sent by the outbox; follow it at /messages/{id})."""
    contact = path_object("contact_id")
    wanted = request.context.json.message
    if isinstance(wanted, TextMessage):
        message = queue_text(contact, wanted.text, origin="api")
    elif isinstance(wanted, TemplateMessage):
        template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.id == wanted.template_id))
        if template is None:
            raise ApiProblem(422, "The request has invalid fields.", {"message.template_id": "No such template."})
        message = queue_template(contact, template, wanted.variables, origin="api")
    else:
        try:
            data = base64.b64decode(wanted.data, validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(422, "The request has invalid fields.", {"message.data": "Not base64."}) from None
        message = queue_media(contact, data, wanted.filename, wanted.mime_type, wanted.caption or "", origin="api")
    db.session.commit()
    return message_out(message), 202


@operation("/messages/<int:message_id>", tag=TAG, ok=MessageOut)
def get_message(message_id: int):
    """A message and its delivery status."""
    return message_out(path_object("message_id"))
