"""Template sends outside the 24-hour window: picker, variable form, live preview, send and sync."""
from __future__ import annotations

from flask import flash, request, url_for
from sqlalchemy import select

from blueprints.common import get_or_404
from blueprints.htmx import is_htmx, render, see_other
from blueprints.inbox import reply_box
from blueprints.inbox.blueprint import bp
from blueprints.inbox.context import (
    chosen_template,
    conversation_context,
    reply_context,
    template_fields,
    template_preview,
)
from blueprints.inbox.forms import TemplateSendForm
from extensions import db
from models import Contact
from services.channels import ChannelSetupError, get_channel
from services.outbox import SendRefused, queue_template
from services.templates import sync_templates
from whatsapp.base import ProviderError


@bp.get("/<int:contact_id>/template-form")
def template_form(contact_id: int):
    """One input per variable of the chosen template, prefilled from the contact."""
    contact = get_or_404(Contact, contact_id)
    chosen = {"template": chosen_template(request.args.get("template_id")), "template_form": request.args}
    context = reply_context(contact, get_channel(), **chosen) if is_htmx() else conversation_context(contact, **chosen)
    return render("inbox/conversation.html", "inbox/_template_form.html", **context)


@bp.get("/<int:contact_id>/template-preview")
def template_preview_partial(contact_id: int):
    """What the customer will read with the values typed so far."""
    contact = get_or_404(Contact, contact_id)
    template = chosen_template(request.args.get("template_id"))
    preview_text, preview_problem = template_preview(template, template_fields(template, contact, request.args))
    return render("inbox/_template_preview.html", preview_text=preview_text, preview_problem=preview_problem)


def _template_values(template, contact: Contact) -> list[str]:
    return [field["value"] or "" for field in template_fields(template, contact, request.form)]


@bp.post("/<int:contact_id>/template")
def send_template(contact_id: int):
    """Queue the chosen template with its variables filled."""
    contact = get_or_404(Contact, contact_id)
    form = TemplateSendForm()
    template = chosen_template(request.form.get("template_id"))
    error = None
    if not form.validate_on_submit():
        error = "This form expired. Reload the page and send again."
    elif template is None:
        error = "Choose one of your approved templates."
    else:
        try:
            queue_template(contact, template, _template_values(template, contact))
        except SendRefused as exc:
            error = str(exc)
    if error:
        return reply_box.refused(contact, template=template, template_form=request.form, template_error=error)
    db.session.commit()
    return reply_box.sent(contact)


def _back() -> str:
    """The conversation the sync was started from, if it is one of ours (never a free-form URL)."""
    raw = request.form.get("contact_id", "")
    if raw.isdigit() and db.session.scalar(select(Contact.id).where(Contact.id == int(raw))) is not None:
        return url_for("inbox.conversation", contact_id=int(raw))
    return url_for("inbox.index")


@bp.post("/templates/sync")
def templates_sync():
    """Fetch the account's templates from WhatsApp."""
    channel = get_channel()
    try:
        if channel is None:
            raise ChannelSetupError("Link a WhatsApp Cloud API number in Settings › WhatsApp first.")
        counts = sync_templates(channel)
    except (ChannelSetupError, ProviderError) as exc:
        db.session.rollback()
        flash(f"Templates could not be synced: {exc.message if isinstance(exc, ProviderError) else exc}", "error")
        return see_other(_back())
    db.session.commit()
    flash(f"Templates synced: {counts['added']} new, {counts['updated']} updated, {counts['removed']} removed.",
          "success")
    return see_other(_back())
