"""What the inbox pages and partials render: built once here so full pages and HTMX partials agree."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from blueprints.filters import preview
from blueprints.inbox.forms import ReplyForm
from core.enums import MessageOrigin
from extensions import db
from models import Channel, Contact, Message, MessageTemplate
from models.base import utcnow
from services import inbox as queries
from services.broadcasts import names_of_messages
from services.channels import capabilities_for, get_channel
from services.outbox import window_closes_at, window_open
from services.quick_replies import list_quick_replies
from services.templates import TemplateInvalid, render_text, value_from_contact, variables_of

CUSTOM = "custom"
# A variable named like a contact attribute starts out filled from it.
_NAMED_SOURCES = {"name": "name", "first_name": "name", "customer": "name", "phone": "phone", "email": "email"}


def list_state(raw: str | None) -> str:
    """The list filter asked for, or "all" for anything unknown."""
    return raw if raw in queries.FILTERS else "all"


def list_context(query: str = "", page_number: int = 1, current_id: int | None = None,
                 version: str | None = None, state: str = "all") -> dict:
    """The conversation list: one page of contacts, their last message and unread count.

    The version is read before the rows: a change committed in between then shows in the next poll,
    instead of being hidden behind a token that already counts it.
    """
    version = version or queries.list_version()
    per_page = current_app.config.get("INBOX_PER_PAGE", 25)
    state = list_state(state)
    pagination = db.paginate(queries.conversations(query, state), page=page_number, per_page=per_page,
                             error_out=False)
    ids = [contact.id for contact in pagination.items]
    return {"pagination": pagination, "query": query, "current_id": current_id, "last": queries.last_messages(ids),
            "unread": queries.unread_counts(ids), "list_version": version, "state": state,
            "filters": queries.FILTERS}


def thread_context(contact: Contact, size: int = queries.THREAD_SIZE, thread_error: str | None = None) -> dict:
    """The newest messages of a conversation and the token its poll compares (read first, as for the list)."""
    version = queries.thread_version(contact)
    messages, has_earlier = queries.thread(contact, size)
    return {"contact": contact, "messages": messages, "has_earlier": has_earlier, "size": size,
            "thread_version": version, "reacted_to": _reacted_to(messages),
            "broadcast_names": _broadcast_names(messages), "thread_error": thread_error}


def _broadcast_names(messages: list[Message]) -> dict[int, str]:
    """Message id -> the broadcast that sent it, for the broadcast messages in view (one query)."""
    return names_of_messages([m.id for m in messages if m.origin == MessageOrigin.BROADCAST])


def _reacted_to(messages: list[Message]) -> dict[str, str]:
    """Provider id -> short text of the messages in view, so a reaction can say what it reacts to."""
    return {m.provider_message_id: preview(m) for m in messages if m.provider_message_id}


def chosen_template(raw) -> MessageTemplate | None:
    """The approved template with id `raw`, or None."""
    raw = str(raw or "")
    if not raw.isdigit():
        return None
    template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.id == int(raw)))
    return template if template is not None and template.is_approved else None


def source_options(contact: Contact) -> list[tuple[str, str, str]]:
    """Where a template variable can take its value from: (source, label, value for this contact)."""
    options = [("name", "Contact name", contact.name), ("phone", "Phone", contact.phone),
               ("email", "Email", contact.email or "")]
    for key in sorted(contact.custom_fields or {}):
        options.append((f"field:{key}", f"Field: {key}", value_from_contact(f"field:{key}", contact)))
    options.append((CUSTOM, "Custom text", ""))
    return options


def _default_source(name: str, position: int, contact: Contact) -> str:
    lowered = name.lower()
    if lowered in _NAMED_SOURCES:
        return _NAMED_SOURCES[lowered]
    if lowered in {key.lower() for key in contact.custom_fields or {}}:
        return next(f"field:{k}" for k in contact.custom_fields if k.lower() == lowered)
    # Templates usually greet first: "Hi {{1}}" takes the name unless told otherwise.
    return "name" if position == 0 else CUSTOM


def template_fields(template: MessageTemplate | None, contact: Contact, form=None) -> list[dict]:
    """One input per variable with its source and value (what was typed wins over the source)."""
    if template is None:
        return []
    known = {key for key, _label, _value in source_options(contact)}
    fields = []
    for index, (kind, name) in enumerate(variables_of(template.components)):
        source = (form.get(f"source_{index}") if form is not None else None) or _default_source(name, index, contact)
        source = source if source in known else CUSTOM
        typed = (form.get(f"value_{index}") if form is not None else None) or ""
        if not typed.strip() and source != CUSTOM:
            typed = value_from_contact(source, contact)  # without JavaScript the source alone fills it
        fields.append({"index": index, "kind": kind, "name": name, "source": source, "value": typed})
    return fields


def template_preview(template: MessageTemplate | None, fields: list[dict]) -> tuple[str | None, str | None]:
    """(text the customer will read, or None; why there is no preview, or None)."""
    if template is None:
        return None, "Choose a template to see what the customer will read."
    # Unfilled variables stay visible as {{name}} so the preview shows what is missing.
    values = [f["value"] if (f["value"] or "").strip() else "{{" + f["name"] + "}}" for f in fields]
    try:
        return render_text(template, values), None
    except TemplateInvalid as exc:
        return None, str(exc)


def reply_context(contact: Contact, channel: Channel | None, *, form: ReplyForm | None = None,
                  reply_error: str | None = None, template: MessageTemplate | None = None, template_form=None,
                  template_error: str | None = None) -> dict:
    """The reply box: free text inside the window, the template picker outside it."""
    is_open = window_open(contact, channel)
    caps = capabilities_for(channel.kind) if channel is not None else None
    closes_at = window_closes_at(contact) if caps is not None and caps.service_window else None
    fields = template_fields(template, contact, template_form)
    preview_text, preview_problem = template_preview(template, fields)
    return {
        "contact": contact, "channel": channel, "window_is_open": is_open,
        "window_closes_at": closes_at if closes_at and closes_at > utcnow() else None,
        "window_closed_at": closes_at if closes_at and closes_at <= utcnow() else None,
        "form": form or ReplyForm(formdata=None), "reply_error": reply_error,
        "templates": [] if is_open else queries.approved_templates(),
        "templates_synced": 0 if is_open else queries.template_count(),
        "template": template, "fields": fields, "sources": source_options(contact),
        "template_error": template_error, "preview_text": preview_text, "preview_problem": preview_problem,
        # Templates come from the account: only a provider that syncs them offers them (and the sync button).
        "can_use_templates": caps is not None and caps.template_sync,
        # Every render of the reply box (first paint, after a send, after a refusal) offers the quick replies.
        "quick_replies": [{"shortcut": q.shortcut, "body": q.body} for q in list_quick_replies()] if is_open else [],
    }


def conversation_context(contact: Contact, size: int = queries.THREAD_SIZE, *, query: str = "", state: str = "all",
                         **reply) -> dict:
    """Everything the conversation page shows; the list beside it keeps the search and filter it was opened from."""
    channel = get_channel()
    return {**list_context(query, current_id=contact.id, state=state), **thread_context(contact, size),
            **reply_context(contact, channel, **reply)}

