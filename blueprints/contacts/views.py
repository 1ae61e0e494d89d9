"""Contact routes: thin; validation and queries live in services.contacts."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common import get_or_404, put_errors
from blueprints.contacts.forms import ContactForm
from blueprints.htmx import is_htmx, see_other
from extensions import db
from models import Contact, Tag
from services.contacts import (ContactInput, ContactInvalid, add_tag, format_custom_fields, parse_custom_fields,
                               remove_tag, save_contact, search_contacts)

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
bp.before_request(login_required(lambda: None))


def _all_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def _tag_filter() -> int | None:
    raw = request.args.get("tag", "")
    return int(raw) if raw.isdigit() else None


@bp.get("/")
def index():
    """Contact list with active search, tag filter and pagination."""
    query = request.args.get("q", "")
    tag_id = _tag_filter()
    page = db.paginate(search_contacts(query, tag_id), per_page=current_app.config["CONTACTS_PER_PAGE"], error_out=False)
    context = dict(page=page, query=query, tag_id=tag_id, tags=_all_tags())
    if is_htmx() and request.headers.get("HX-Target") == "contact-results":
        return render_template("contacts/_results.html", **context)
    return render_template("contacts/index.html", **context)


def _form_input(form: ContactForm) -> ContactInput:
    return ContactInput(
        name=form.name.data or "", phone=form.phone.data or "", email=form.email.data or "",
        notes=form.notes.data or "", custom_fields=parse_custom_fields(form.custom_fields.data or ""),
        tag_ids=list(form.tags.data or []),
    )


def _save(form: ContactForm, contact: Contact | None):
    """Validate and save; on failure put each message on its field and return None."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save_contact(_form_input(form), current_user.tenant.default_region, contact)
    except ContactInvalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return None
    db.session.commit()
    return saved


@bp.route("/new", methods=["GET", "POST"])
def create():
    """New contact form."""
    form = ContactForm()
    form.tags.choices = [(t.id, t.name) for t in _all_tags()]
    contact = _save(form, None)
    if contact is not None:
        flash(f"Contact {contact.name} created.", "success")
        return see_other(url_for("contacts.detail", contact_id=contact.id))
    status = 400 if request.method == "POST" else 200
    return render_template("contacts/form.html", form=form, contact=None), status


@bp.get("/<int:contact_id>")
def detail(contact_id: int):
    """One contact with its tags and fields."""
    contact = get_or_404(Contact, contact_id)
    return render_template("contacts/detail.html", contact=contact, tags=_all_tags())


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):
    """Edit a contact."""
    contact = get_or_404(Contact, contact_id)
    form = ContactForm(obj=contact if request.method == "GET" else None)
    form.tags.choices = [(t.id, t.name) for t in _all_tags()]
    if request.method == "GET":
        form.tags.data = [t.id for t in contact.tags]
        form.custom_fields.data = format_custom_fields(contact.custom_fields)
    saved = _save(form, contact)
    if saved is not None:
        flash("Contact saved.", "success")
        return see_other(url_for("contacts.detail", contact_id=contact.id))
    status = 400 if request.method == "POST" else 200
    return render_template("contacts/form.html", form=form, contact=contact), status


@bp.post("/<int:contact_id>/delete")
def delete(contact_id: int):
    """Delete a contact (the page asks for confirmation first)."""
    contact = get_or_404(Contact, contact_id)
    name = contact.name
    db.session.delete(contact)
    db.session.commit()
    flash(f"Contact {name} deleted.", "success")
    return see_other(url_for("contacts.index"))


@bp.post("/<int:contact_id>/tags")
def tag_add(contact_id: int):
    """Attach a tag inline; answers with the refreshed tag list."""
    contact = get_or_404(Contact, contact_id)
    raw = request.form.get("tag_id", "")
    tag = db.session.scalar(select(Tag).where(Tag.id == int(raw))) if raw.isdigit() else None
    error = None
    if tag is None:
        error = "Choose one of your tags."
    else:
        add_tag(contact, tag)
        db.session.commit()
    return _tags_response(contact, error)


@bp.post("/<int:contact_id>/tags/<int:tag_id>/remove")
def tag_remove(contact_id: int, tag_id: int):
    """Detach a tag inline."""
    contact = get_or_404(Contact, contact_id)
    tag = get_or_404(Tag, tag_id)
    remove_tag(contact, tag)
    db.session.commit()
    return _tags_response(contact, None)


def _tags_response(contact: Contact, error: str | None):
    if is_htmx():
        return render_template("contacts/_tags.html", contact=contact, tags=_all_tags(), tag_error=error), (
            422 if error else 200)
    if error:
        flash(error, "error")
    return see_other(url_for("contacts.detail", contact_id=contact.id))
