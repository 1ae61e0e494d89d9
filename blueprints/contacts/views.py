"""Contact routes: thin; rules and queries live in services.contacts."""
from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_login import current_user

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.contacts.blueprint import bp
from blueprints.contacts.forms import ContactForm
from blueprints.htmx import REFUSED, is_htmx, render, see_other
from extensions import db
from models import Contact, Segment, Tag
from services.contacts import (
    ContactInput,
    add_tag,
    delete_contact,
    format_custom_fields,
    parse_custom_fields,
    remove_tag,
    save_contact,
    search_contacts,
)
from services.deals import deals_of_contact
from services.errors import Invalid
from services.notes import timeline_of_contact
from services.paging import capped_page
from services.phones import format_phone
from services.segments import all_segments
from services.segments import criterion as segment_criterion
from services.tags import all_tags
from services.tasks import tasks_of_contact


def _id_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


@bp.get("/")
def index():
    """Contact list with active search, tag and segment filters, and pagination."""
    query = request.args.get("q", "")
    tag_id, segment_id = _id_arg("tag"), _id_arg("segment")
    # Another workspace's segment id is as unknown here as a made-up one.
    segment = get_or_404(Segment, segment_id) if segment_id is not None else None
    criteria = [segment_criterion(segment)] if segment is not None else []
    per_page = current_app.config["CONTACTS_PER_PAGE"]
    pagination = capped_page(search_contacts(query, tag_id, *criteria), request.args.get("page", 1, type=int),
                             per_page)
    return render("contacts/index.html", "contacts/_results.html", pagination=pagination, query=query,
                  tag_id=tag_id, tags=all_tags(), segment_id=segment_id, segments=all_segments())


def _form_input(form: ContactForm) -> ContactInput:
    return ContactInput(
        name=form.name.data or "", phone=form.phone.data or "", email=form.email.data or "",
        notes=form.notes.data or "", custom_fields=parse_custom_fields(form.custom_fields.data or ""),
        tag_ids=list(form.tags.data or []),
    )


def _save(form: ContactForm, contact: Contact | None) -> Contact | None:
    """Validate and save; on failure put each message on its field and return None."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save_contact(_form_input(form), current_user.tenant.default_region, contact, author_id=current_user.id)
    except Invalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return None
    db.session.commit()
    return saved


def _form_page(form: ContactForm, contact: Contact | None):
    return render("contacts/form.html", status=form_status(), form=form, contact=contact)


@bp.route("/new", methods=["GET", "POST"])
def create():
    """New contact form."""
    form = ContactForm()
    form.tags.choices = [(t.id, t.name) for t in all_tags()]
    contact = _save(form, None)
    if contact is not None:
        flash(f"Contact {contact.name} created.", "success")
        return see_other(url_for("contacts.detail", contact_id=contact.id))
    return _form_page(form, None)


@bp.get("/<int:contact_id>")
def detail(contact_id: int):
    """One contact with its tags and fields, deals, tasks and notes timeline."""
    contact = get_or_404(Contact, contact_id)
    return render("contacts/detail.html", contact=contact, tags=all_tags(), contact_deals=deals_of_contact(contact),
                  tasks=tasks_of_contact(contact), notes=timeline_of_contact(contact))


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):
    """Edit a contact."""
    contact = get_or_404(Contact, contact_id)
    form = ContactForm(obj=contact if request.method == "GET" else None)
    form.tags.choices = [(t.id, t.name) for t in all_tags()]
    if request.method == "GET":
        form.phone.data = format_phone(contact.phone)  # the same international format the pages show
        form.tags.data = [t.id for t in contact.tags]
        form.custom_fields.data = format_custom_fields(contact.custom_fields)
    if _save(form, contact) is not None:
        flash("Contact saved.", "success")
        return see_other(url_for("contacts.detail", contact_id=contact.id))
    return _form_page(form, contact)


@bp.post("/<int:contact_id>/delete")
def delete(contact_id: int):
    """Delete a contact (the page asks for confirmation first)."""
    contact = get_or_404(Contact, contact_id)
    name = contact.name
    delete_contact(contact)
    db.session.commit()
    flash(f"Contact {name} deleted.", "success")
    return see_other(url_for("contacts.index"))


@bp.post("/<int:contact_id>/tags")
def tag_add(contact_id: int):
    """Attach a tag inline; answers with the refreshed tag list."""
    contact = get_or_404(Contact, contact_id)
    try:
        add_tag(contact, request.form.get("tag_id", type=int))
    except Invalid as exc:
        db.session.rollback()
        return _tags_response(contact, exc.errors["tag_id"])
    db.session.commit()
    return _tags_response(contact, None)


@bp.post("/<int:contact_id>/tags/<int:tag_id>/remove")
def tag_remove(contact_id: int, tag_id: int):
    """Detach a tag inline."""
    contact = get_or_404(Contact, contact_id)
    remove_tag(contact, get_or_404(Tag, tag_id))
    db.session.commit()
    return _tags_response(contact, None)


def _tags_response(contact: Contact, error: str | None):
    """HTMX swaps in the tag list (refused: with the reason); without JavaScript, back to the contact."""
    if is_htmx():
        return render("contacts/_tags.html", status=REFUSED if error else 200, contact=contact, tags=all_tags(),
                      tag_error=error)
    if error:
        flash(error, "error")
    return see_other(url_for("contacts.detail", contact_id=contact.id))
