"""Inbox routes: conversations, the thread and its polling, replies, retries and media."""
from __future__ import annotations

from flask import abort, flash, request, send_file, url_for

from blueprints.common import get_or_404
from blueprints.htmx import REFUSED, is_htmx, render, see_other, unchanged_poll
from blueprints.inbox import reply_box
from blueprints.inbox.blueprint import bp
from blueprints.inbox.context import (
    chosen_template,
    conversation_context,
    list_context,
    list_state,
    thread_context,
)
from blueprints.inbox.forms import ReplyForm
from extensions import db
from models import Contact, Message
from services import inbox as queries
from services.contacts import mark_read
from services.media_store import media_path
from services.outbox import SendRefused, queue_media, queue_text, retry_message

# Served inline for <img>; everything else downloads, so a stored file can never run as a page.
INLINE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


def _size() -> int:
    return max(1, min(request.args.get("size", queries.THREAD_SIZE, type=int), queries.THREAD_MAX))


@bp.get("/")
def index():
    """Conversation list with active search, pagination and a cheap 5-second refresh."""
    version = queries.list_version()
    if is_htmx() and (unchanged := unchanged_poll(version)) is not None:
        return unchanged
    # The list beside an open conversation keeps it highlighted and leaves the address alone.
    current_id = request.args.get("current", type=int) if is_htmx() else None
    context = list_context(request.args.get("q", ""), request.args.get("page", 1, type=int), current_id, version,
                           state=request.args.get("state"))
    return render("inbox/index.html", "inbox/_list.html", push_url=current_id is None, **context)


@bp.get("/<int:contact_id>")
def conversation(contact_id: int):
    """One conversation: thread, reply box and the contact's details; opening it marks it read."""
    contact = get_or_404(Contact, contact_id)
    mark_read(contact)
    db.session.commit()
    template = chosen_template(request.args.get("template_id"))
    return render("inbox/conversation.html",
                  **conversation_context(contact, _size(), query=request.args.get("q", ""),
                                         state=list_state(request.args.get("state")),
                                         template=template, template_form=request.args))


@bp.get("/<int:contact_id>/thread")
def thread(contact_id: int):
    """The thread partial; polls answer 204 while nothing changed."""
    contact = get_or_404(Contact, contact_id)
    if (unchanged := unchanged_poll(queries.thread_version(contact))) is not None:
        return unchanged
    if is_htmx():
        mark_read(contact)  # the conversation is on screen, so what just arrived has been seen
        db.session.commit()
    return render("inbox/_thread.html", **thread_context(contact, _size()))


@bp.post("/<int:contact_id>/messages")
def send(contact_id: int):
    """Queue a reply (text, or an image or document with the text as caption)."""
    contact = get_or_404(Contact, contact_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return reply_box.refused(contact, form=form, reply_error="This form expired. Reload the page and send again.")
    upload = form.attachment.data
    try:
        if upload is not None and upload.filename:
            queue_media(contact, upload.read(), upload.filename, upload.mimetype or "", caption=form.body.data or "")
        else:
            queue_text(contact, form.body.data or "")
    except SendRefused as exc:
        return reply_box.refused(contact, form=form, reply_error=str(exc))
    db.session.commit()
    return reply_box.sent(contact)


@bp.post("/messages/<int:message_id>/retry")
def retry(message_id: int):
    """Send a failed message again."""
    message = get_or_404(Message, message_id)
    contact_id = message.contact_id
    error = None
    try:
        retry_message(message, confirmed=request.form.get("confirm_duplicate") == "1")
        db.session.commit()
    except SendRefused as exc:
        db.session.rollback()
        error = str(exc)
    contact = get_or_404(Contact, contact_id)
    if is_htmx():
        return render("inbox/_thread.html", status=REFUSED if error else 200,
                      **thread_context(contact, thread_error=error))
    flash(error or "Queued again.", "error" if error else "success")
    return see_other(url_for("inbox.conversation", contact_id=contact_id))


@bp.get("/media/<int:message_id>")
def media(message_id: int):
    """The stored file of a message: images inline, anything else as a download."""
    message = get_or_404(Message, message_id)
    stored = message.media or {}
    if not stored.get("path"):
        abort(404)  # inbound media not downloaded yet
    try:
        path = media_path(stored["path"])
    except PermissionError:
        abort(404)
    if not path.is_file():
        abort(404)
    mime_type = (stored.get("mime_type") or "application/octet-stream").split(";")[0].strip().lower()
    name = stored.get("filename") or f"{message.type}-{message.id}{path.suffix}"
    response = send_file(path, mimetype=mime_type, download_name=name, as_attachment=mime_type not in INLINE_TYPES,
                         conditional=True, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.public = False
    return response
