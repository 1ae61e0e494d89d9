"""Scheduled-message routes: thin; the rules live in services.scheduling."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import flash, request, url_for
from flask_login import current_user

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.htmx import render, see_other
from blueprints.inbox.context import chosen_template, source_options, template_fields, template_preview
from blueprints.scheduled.blueprint import bp
from blueprints.scheduled.forms import ScheduleForm
from extensions import db
from models import Contact, MessageTemplate, ScheduledMessage
from services.errors import Invalid
from services.inbox import approved_templates
from services.scheduling import (
    cancel_scheduled,
    find_template,
    schedule_message,
    scheduled_for_contact,
    scheduled_in_workspace,
    templates_allowed,
    text_window_note,
    to_local,
    to_utc,
    update_scheduled,
)
from services.workspace import workspace_zone

BACKS = ("inbox", "contact", "list")


def _in_zone(zone: ZoneInfo):
    """For templates: an aware UTC time as the workspace's wall-clock time."""
    return lambda moment: to_local(moment, zone)


def _back_url(back: str | None, contact: Contact) -> str:
    if back == "inbox":
        return url_for("inbox.conversation", contact_id=contact.id)
    if back == "contact":
        return url_for("contacts.detail", contact_id=contact.id)
    return url_for("scheduled.index")


def _template_id() -> str:
    """The template asked for: chosen on the form (POST) or by the picker (GET)."""
    source = request.form if request.method == "POST" else request.args
    return (source.get("template_id") or "").strip()


def _values(template: MessageTemplate | None, contact: Contact) -> list[str]:
    return [field["value"] or "" for field in template_fields(template, contact, request.form)]


def _editor(contact: Contact, form: ScheduleForm, template: MessageTemplate | None, *, item=None,
            template_form=None):
    """The schedule form page: text or template, the zone, and the window note for a text."""
    zone = workspace_zone()
    wants_template = bool(_template_id()) or template is not None
    due_at = to_utc(form.due_at.data, zone) if form.due_at.data else None
    fields = template_fields(template, contact, template_form if template_form is not None else request.values)
    preview_text, preview_problem = template_preview(template, fields)
    allowed = templates_allowed()
    return render("scheduled/form.html", status=form_status(), form=form, contact=contact, item=item, zone=zone,
                  template=template, wants_template=wants_template and allowed, fields=fields,
                  sources=source_options(contact), preview_text=preview_text, preview_problem=preview_problem,
                  templates=approved_templates() if allowed else [], can_use_templates=allowed,
                  window_note=None if wants_template else text_window_note(contact, due_at),
                  back=form.back.data or request.args.get("back", "list"))


def _refused(form: ScheduleForm, errors: dict[str, str]) -> None:
    """Field messages on their fields; a message about the whole form as a flash."""
    db.session.rollback()
    put_errors(form, {name: message for name, message in errors.items() if name})
    if errors.get(""):
        flash(errors[""], "error")


def _saved(item: ScheduledMessage, contact: Contact, zone: ZoneInfo, verb: str) -> None:
    flash(f"Message {verb} for {to_local(item.due_at, zone):%Y-%m-%d %H:%M} ({zone}).", "success")
    if not item.is_template:
        note = text_window_note(contact, item.due_at)
        if note:
            flash(note, "info")


@bp.get("/")
def index():
    """The workspace's scheduled messages (or all of them, sent and cancelled included)."""
    show = "all" if request.args.get("show") == "all" else "scheduled"
    zone = workspace_zone()
    return render("scheduled/index.html", rows=scheduled_in_workspace(show), show=show, zone=zone,
                  in_zone=_in_zone(zone))


@bp.get("/contact/<int:contact_id>")
def for_contact(contact_id: int):
    """One contact's scheduled messages (the contact page loads this list)."""
    contact = get_or_404(Contact, contact_id)
    zone = workspace_zone()
    items = scheduled_for_contact(contact)
    return render("scheduled/contact.html", "scheduled/_contact_list.html", contact=contact, items=items,
                  entries=[(item, contact) for item in items], zone=zone, in_zone=_in_zone(zone))


@bp.route("/new/<int:contact_id>", methods=["GET", "POST"])
def new(contact_id: int):
    """Schedule a text, or an approved template, for the contact."""
    contact = get_or_404(Contact, contact_id)
    form = ScheduleForm()
    if request.method == "GET":
        form.back.data = request.args.get("back") if request.args.get("back") in BACKS else "list"
    template = chosen_template(_template_id())
    if form.validate_on_submit():
        try:
            item = schedule_message(contact, form.due_at.data, body=form.body.data, template=template,
                                    variables=_values(template, contact), wants_template=bool(_template_id()),
                                    created_by_id=current_user.id)
        except Invalid as exc:
            _refused(form, exc.errors)
        else:
            db.session.commit()
            _saved(item, contact, workspace_zone(), "scheduled")
            return see_other(_back_url(form.back.data, contact))
    return _editor(contact, form, template)


@bp.route("/<int:scheduled_id>/edit", methods=["GET", "POST"])
def edit(scheduled_id: int):
    """Change the time or content of a message still scheduled."""
    item = get_or_404(ScheduledMessage, scheduled_id)
    contact = get_or_404(Contact, item.contact_id)
    form = ScheduleForm()
    if not item.is_editable:
        flash("This message is no longer scheduled, so it cannot be changed.", "error")
        return see_other(url_for("scheduled.index"))
    if request.method == "GET":
        form.due_at.data = to_local(item.due_at, workspace_zone())
        form.body.data = item.body
        form.back.data = request.args.get("back") if request.args.get("back") in BACKS else "list"
        template = find_template(item.template_name, item.template_language)
        filled = {f"value_{i}": v for i, v in enumerate(item.template_variables or [])}
        filled |= {f"source_{i}": "custom" for i in range(len(item.template_variables or []))}
        if _template_id():
            template, filled = chosen_template(_template_id()), request.args
        return _editor(contact, form, template, item=item, template_form=filled)
    template = chosen_template(_template_id())
    if form.validate_on_submit():
        try:
            update_scheduled(item, form.due_at.data, body=form.body.data, template=template,
                             variables=_values(template, contact), wants_template=bool(_template_id()))
        except Invalid as exc:
            _refused(form, exc.errors)
        else:
            db.session.commit()
            _saved(item, contact, workspace_zone(), "rescheduled")
            return see_other(_back_url(form.back.data, contact))
    return _editor(contact, form, template, item=item)


@bp.post("/<int:scheduled_id>/cancel")
def cancel(scheduled_id: int):
    """Cancel a message still scheduled."""
    item = get_or_404(ScheduledMessage, scheduled_id)
    contact = get_or_404(Contact, item.contact_id)
    back = request.form.get("back")
    try:
        cancel_scheduled(item)
    except Invalid as exc:
        db.session.rollback()
        flash(exc.errors[""], "error")
        return see_other(_back_url(back, contact))
    db.session.commit()
    flash("Scheduled message cancelled.", "success")
    return see_other(_back_url(back, contact))
