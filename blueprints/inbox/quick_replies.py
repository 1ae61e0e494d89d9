"""Quick replies: saved answers inserted with the picker or by typing /shortcut."""
from __future__ import annotations

from flask import flash, request, url_for

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.htmx import render, see_other
from blueprints.inbox.blueprint import bp
from blueprints.inbox.forms import QuickReplyForm
from extensions import db
from models import QuickReply
from services.errors import Invalid
from services.quick_replies import delete_quick_reply, list_quick_replies, save_quick_reply


def _save(form: QuickReplyForm, quick_reply: QuickReply | None) -> QuickReply | None:
    """Validate and save; on failure the message goes on the field and None comes back."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save_quick_reply(form.shortcut.data, form.body.data, quick_reply)
    except Invalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return None
    db.session.commit()
    return saved


@bp.route("/quick-replies", methods=["GET", "POST"])
def quick_replies():
    """The tenant's quick replies and a form to add one."""
    form = QuickReplyForm()
    saved = _save(form, None)
    if saved is not None:
        flash(f"Quick reply /{saved.shortcut} saved.", "success")
        return see_other(url_for("inbox.quick_replies"))
    return render("inbox/quick_replies.html", status=form_status(), form=form, quick_replies=list_quick_replies())


@bp.route("/quick-replies/<int:quick_reply_id>/edit", methods=["GET", "POST"])
def quick_reply_edit(quick_reply_id: int):
    """Change a quick reply."""
    quick_reply = get_or_404(QuickReply, quick_reply_id)
    form = QuickReplyForm(obj=quick_reply if request.method == "GET" else None)
    if _save(form, quick_reply) is not None:
        flash(f"Quick reply /{quick_reply.shortcut} saved.", "success")
        return see_other(url_for("inbox.quick_replies"))
    return render("inbox/quick_reply_edit.html", status=form_status(), form=form, quick_reply=quick_reply)


@bp.post("/quick-replies/<int:quick_reply_id>/delete")
def quick_reply_delete(quick_reply_id: int):
    """Delete a quick reply (the page asks first)."""
    quick_reply = get_or_404(QuickReply, quick_reply_id)
    shortcut = quick_reply.shortcut
    delete_quick_reply(quick_reply)
    db.session.commit()
    flash(f"Quick reply /{shortcut} deleted.", "success")
    return see_other(url_for("inbox.quick_replies"))
