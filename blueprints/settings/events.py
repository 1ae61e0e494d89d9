"""Settings › WhatsApp › Deliveries: webhook events that failed, and running them again."""
from __future__ import annotations

from flask import flash, render_template, url_for

from blueprints.common import get_or_404
from blueprints.htmx import see_other
from blueprints.settings.blueprint import bp
from extensions import db
from models import WebhookEvent
from services.webhook_events import event_health, failed_events, rerun_event, rerun_failed


@bp.context_processor
def _webhook_health() -> dict:
    # A callable, so only the pages that show the counts pay for the query.
    return {"webhook_health": event_health}


@bp.get("/whatsapp/events")
def webhook_events():
    """The deliveries that could not be processed, with the reason for each."""
    return render_template("settings/webhook_events.html", health=event_health(), events=failed_events())


@bp.post("/whatsapp/events/<int:event_id>/rerun")
def webhook_event_rerun(event_id: int):
    """Process one failed delivery again."""
    rerun_event(get_or_404(WebhookEvent, event_id))
    db.session.commit()
    flash("Processing the delivery again.", "success")
    return see_other(url_for("settings.webhook_events"))


@bp.post("/whatsapp/events/rerun")
def webhook_events_rerun_all():
    """Process every failed delivery again."""
    count = rerun_failed()
    db.session.commit()
    flash(f"Processing {count} deliver{'y' if count == 1 else 'ies'} again.", "success")
    return see_other(url_for("settings.webhook_events"))
