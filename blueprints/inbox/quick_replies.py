"""Quick replies: saved answers inserted with the picker or by typing /shortcut."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from blueprints.common import get_or_404
from blueprints.htmx import see_other
from services import inbox as queries
from blueprints.inbox.forms import QuickReplyForm
from blueprints.inbox.views import bp
from extensions import db
from models import QuickReply


def _taken(shortcut: str, current: QuickReply | None) -> bool:
    """Shortcuts are unique per tenant regardless of case: /Thanks and /thanks would be ambiguous."""
    existing = db.session.scalar(select(QuickReply.id).where(func.lower(QuickReply.shortcut) == shortcut.lower()))
    return existing is not None and (current is None or existing != current.id)


def _save(form: QuickReplyForm, quick_reply: QuickReply | None) -> QuickReply | None:
    """Validate and save; on failure the message goes on the field and None comes back."""
    if not form.validate_on_submit():
        return None
    duplicate = f"/{form.shortcut.data} already exists. Edit that one or choose another shortcut."
    if _taken(form.shortcut.data, quick_reply):
        form.shortcut.errors = [*form.shortcut.errors, duplicate]
        return None
    quick_reply = quick_reply or QuickReply()
    quick_reply.shortcut, quick_reply.body = form.shortcut.data, form.body.data
    db.session.add(quick_reply)
    try:
        db.session.commit()
    except IntegrityError:  # the same shortcut saved at the same moment in another tab
        db.session.rollback()
        form.shortcut.errors = [*form.shortcut.errors, duplicate]
        return None
    return quick_reply


@bp.route("/quick-replies", methods=["GET", "POST"])
def quick_replies():
    """The tenant's quick replies and a form to add one."""
    form = QuickReplyForm()
    saved = _save(form, None)
    if saved is not None:
        flash(f"Quick reply /{saved.shortcut} saved.", "success")
        return see_other(url_for("inbox.quick_replies"))
    status = 400 if request.method == "POST" else 200
    return render_template("inbox/quick_replies.html", form=form, quick_replies=queries.quick_replies()), status


@bp.route("/quick-replies/<int:quick_reply_id>/edit", methods=["GET", "POST"])
def quick_reply_edit(quick_reply_id: int):
    """Change a quick reply."""
    quick_reply = get_or_404(QuickReply, quick_reply_id)
    form = QuickReplyForm(obj=quick_reply if request.method == "GET" else None)
    if _save(form, quick_reply) is not None:
        flash(f"Quick reply /{quick_reply.shortcut} saved.", "success")
        return see_other(url_for("inbox.quick_replies"))
    status = 400 if request.method == "POST" else 200
    return render_template("inbox/quick_reply_edit.html", form=form, quick_reply=quick_reply), status


@bp.post("/quick-replies/<int:quick_reply_id>/delete")
def quick_reply_delete(quick_reply_id: int):
    """Delete a quick reply (the page asks first)."""
    quick_reply = get_or_404(QuickReply, quick_reply_id)
    shortcut = quick_reply.shortcut
    db.session.delete(quick_reply)
    db.session.commit()
    flash(f"Quick reply /{shortcut} deleted.", "success")
    return see_other(url_for("inbox.quick_replies"))
