"""Note routes: thin; the rules live in services.notes."""
from __future__ import annotations

from flask import flash, request
from flask_login import current_user

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.htmx import render, see_other
from blueprints.notes.blueprint import bp
from blueprints.notes.forms import NoteForm
from blueprints.tasks.views import back_url
from extensions import db
from models import Contact, Deal, Note
from services.errors import Invalid
from services.notes import add_note, delete_note


@bp.route("/new/<int:contact_id>", methods=["GET", "POST"])
def new(contact_id: int):
    """Add a note to the contact's timeline (about the deal in `?deal_id=`, when given)."""
    contact = get_or_404(Contact, contact_id)
    deal_id = request.args.get("deal_id", type=int)
    deal = get_or_404(Deal, deal_id) if deal_id else None
    form = NoteForm()
    if request.method == "GET":
        form.back.data = request.args.get("back", "contact")
    if form.validate_on_submit():
        try:
            add_note(contact, form.body.data, deal=deal, author_id=current_user.id)
        except Invalid as exc:
            db.session.rollback()
            for message in put_errors(form, exc.errors):
                flash(message, "error")
        else:
            db.session.commit()
            flash("Note added.", "success")
            return see_other(back_url(form.back.data or "contact", contact.id, deal.id if deal else None))
    return render("notes/form.html", status=form_status(), form=form, contact=contact, deal=deal)


@bp.post("/<int:note_id>/delete")
def delete(note_id: int):
    """Remove a note from the timeline (the page asks first)."""
    note = get_or_404(Note, note_id)
    contact_id, deal_id = note.contact_id, note.deal_id
    delete_note(note)
    db.session.commit()
    flash("Note deleted.", "success")
    return see_other(back_url(request.form.get("back") or "contact", contact_id, deal_id))


@bp.app_template_global("author_email")
def author_email(user_id: int | None) -> str:
    """Who wrote an entry: a user of this workspace by email (users are read by id, never listed)."""
    from models import User

    if user_id is None:
        return "from the earlier notes field"
    user = db.session.get(User, user_id)
    return user.email if user is not None and user.tenant_id == current_user.tenant_id else "a former user"
