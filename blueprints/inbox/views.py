"""Inbox routes: conversations, the thread and its polling, replies, retries and media."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, render_template, request, send_file, url_for
from flask_login import login_required

from blueprints.common import get_or_404
from blueprints.htmx import htmx_target, is_htmx, see_other, with_trigger
from services import inbox as queries
from blueprints.inbox.context import (chosen_template, conversation_context, list_context, reply_context,
                                     thread_context, window_left)
from blueprints.inbox.forms import ReplyForm
from extensions import db
from models import Contact, Message
from models.base import utcnow
from services.channels import get_channel
from services.media_store import media_path
from services.messaging import SendRefused, queue_media, queue_text, retry_message

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
bp.before_request(login_required(lambda: None))

LIST_ID = "conversation-list"
SENT_EVENT = "inbox:sent"  # the thread listens for it and refreshes at once
# Served inline for <img>; everything else downloads, so a stored file can never run as a page.
INLINE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


@bp.context_processor
def _helpers() -> dict:
    return {"ago": queries.relative_time, "preview": queries.preview, "window_left": window_left,
            "filesize": _filesize}


def _filesize(size) -> str:
    if not size:
        return ""
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _unchanged(version: str) -> bool:
    """A poll that already shows `version` gets 204, which htmx does not swap."""
    return request.args.get("v") == version


def _no_change() -> Response:
    return Response(status=204)


def _size() -> int:
    return max(1, min(request.args.get("size", queries.THREAD_SIZE, type=int), queries.THREAD_MAX))


@bp.get("/")
def index():
    """Conversation list with active search, pagination and a cheap 5-second refresh."""
    query = request.args.get("q", "")
    current_id = request.args.get("current", type=int)
    if is_htmx() and htmx_target() == LIST_ID:
        if _unchanged(queries.list_version()):
            return _no_change()
        context = list_context(query, request.args.get("page", 1, type=int), current_id)
        return render_template("inbox/_list.html", push_url=current_id is None, **context)
    context = list_context(query, request.args.get("page", 1, type=int))
    return render_template("inbox/index.html", push_url=True, **context)


def _mark_read(contact: Contact) -> None:
    contact.last_read_at = utcnow()
    db.session.commit()


@bp.get("/<int:contact_id>")
def conversation(contact_id: int):
    """One conversation: thread, reply box and the contact's details; opening it marks it read."""
    contact = get_or_404(Contact, contact_id)
    _mark_read(contact)
    template = chosen_template(request.args.get("template_id"))
    return render_template("inbox/conversation.html",
                           **conversation_context(contact, _size(), template=template, template_form=request.args))


@bp.get("/<int:contact_id>/thread")
def thread(contact_id: int):
    """The thread partial; polls answer 204 while nothing changed."""
    contact = get_or_404(Contact, contact_id)
    if _unchanged(queries.thread_version(contact)):
        return _no_change()
    if is_htmx():
        _mark_read(contact)  # the conversation is on screen, so what just arrived has been seen
    return render_template("inbox/_thread.html", **thread_context(contact, _size()))


def _reply_failed(contact: Contact, form: ReplyForm, message: str):
    """Show why, keep what was typed; 422 so htmx swaps it in."""
    db.session.rollback()
    if is_htmx():
        return render_template("inbox/_reply.html", **reply_context(contact, get_channel(), form=form,
                                                                     reply_error=message)), 422
    return render_template("inbox/conversation.html",
                           **conversation_context(contact, form=form, reply_error=message)), 422


def _sent(contact: Contact):
    """After a send: an empty reply box plus an event the thread refreshes on, or a 303 back."""
    if is_htmx():
        page = render_template("inbox/_reply.html", **reply_context(contact, get_channel()))
        return with_trigger(Response(page), SENT_EVENT)
    return see_other(url_for("inbox.conversation", contact_id=contact.id))


@bp.post("/<int:contact_id>/messages")
def send(contact_id: int):
    """Queue a reply (text, or an image or document with the text as caption)."""
    contact = get_or_404(Contact, contact_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _reply_failed(contact, form, "This form expired. Reload the page and send again.")
    upload = form.attachment.data
    try:
        if upload is not None and upload.filename:
            queue_media(contact, upload.read(), upload.filename, upload.mimetype or "", caption=form.body.data or "")
        else:
            queue_text(contact, form.body.data or "")
    except SendRefused as exc:
        return _reply_failed(contact, form, str(exc))
    db.session.commit()
    return _sent(contact)


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
        return render_template("inbox/_thread.html", **thread_context(contact, thread_error=error)), (
            409 if error else 200)
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
