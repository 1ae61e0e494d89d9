"""Starting a conversation (pick or add a contact) and marking one resolved or open again."""
from __future__ import annotations

from flask import Response, flash, request, url_for
from flask_login import current_user

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.htmx import REFUSED, is_htmx, render, see_other, with_trigger
from blueprints.inbox.blueprint import bp
from blueprints.inbox.context import list_context
from blueprints.inbox.forms import NewContactForm
from extensions import db
from models import Contact
from services import inbox as queries
from services.contacts import ContactInput, save_contact
from services.conversations import reopen_conversation, resolve_conversation
from services.errors import Invalid

# The conversation list listens for it and refreshes at once instead of at its next poll.
CHANGED_EVENT = "inbox:changed"


@bp.route("/new", methods=["GET", "POST"])
def new_conversation():
    """Pick a contact (live search) or add one, then land in the conversation."""
    form = NewContactForm()
    region = current_user.tenant.default_region
    form.phone.description = f"With the country code (+44 …); without one it is read as a {region} number."
    if form.validate_on_submit():
        try:
            contact = save_contact(ContactInput(name=form.name.data or "", phone=form.phone.data or ""), region)
        except Invalid as exc:
            db.session.rollback()
            put_errors(form, exc.errors)
        else:
            db.session.commit()
            return see_other(url_for("inbox.conversation", contact_id=contact.id))
    query = request.args.get("q", "")
    picks, total = queries.pick_contacts(query)
    # htmx asks for one part: the live results while searching, the form when it was refused.
    partial = "inbox/_new_contact_form.html" if request.method == "POST" else "inbox/_contact_picks.html"
    return render("inbox/new.html", partial, status=form_status(), form=form,
                  picks=picks, picks_total=total, pick_query=query, **list_context())


def _state_changed(contact: Contact, change, done: str) -> Response:
    """Apply `change` to the conversation; answer the header's state control (htmx) or go back to the chat."""
    error = None
    try:
        change(contact)
    except Invalid as exc:
        db.session.rollback()
        error = exc.errors[""]
    else:
        db.session.commit()
    if is_htmx():
        response = render("inbox/_conversation_state.html", status=REFUSED if error else 200, contact=contact,
                          state_error=error)
        return response if error else with_trigger(response, CHANGED_EVENT)
    flash(error or done, "error" if error else "success")
    return see_other(url_for("inbox.conversation", contact_id=contact.id))


@bp.post("/<int:contact_id>/resolve")
def resolve(contact_id: int):
    """Mark the conversation resolved."""
    return _state_changed(get_or_404(Contact, contact_id), resolve_conversation, "Conversation resolved.")


@bp.post("/<int:contact_id>/reopen")
def reopen(contact_id: int):
    """Mark the conversation open again."""
    return _state_changed(get_or_404(Contact, contact_id), reopen_conversation, "Conversation reopened.")
