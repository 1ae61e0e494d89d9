"""Settings › Webhooks: subscribe URLs to events, rotate their secrets, read the delivery log and replay."""
from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user

from blueprints.common import get_or_404, put_errors
from blueprints.htmx import REFUSED, render, see_other
from blueprints.settings.blueprint import bp
from blueprints.settings.outbound_webhooks_forms import WebhookForm
from extensions import db
from models import WebhookDelivery, WebhookSubscription
from services import outbound_webhooks as webhooks
from services.errors import Invalid

LIST = "settings/hooks.html"
DETAIL = "settings/hook.html"


def _list_page(form: WebhookForm | None = None, status: int = 200):
    form = form or WebhookForm(formdata=None, events=list(webhooks.EVENTS))
    return render(LIST, status=status, form=form, subscriptions=webhooks.list_subscriptions(),
                  events=webhooks.EVENTS)


def _detail_page(subscription: WebhookSubscription, form: WebhookForm | None = None, status: int = 200,
                 secret: str | None = None):
    form = form or WebhookForm(formdata=None, obj=subscription)
    return render(DETAIL, status=status, subscription=subscription, form=form, secret=secret,
                  deliveries=webhooks.recent_deliveries(subscription), events=webhooks.EVENTS)


@bp.get("/webhooks")
def hooks_list():
    """The workspace's webhooks and a form to add one."""
    return _list_page()


@bp.post("/webhooks")
def hooks_create():
    """Subscribe a URL; the answer shows its signing secret, this once."""
    form = WebhookForm()
    if not form.validate_on_submit():
        return _list_page(form, REFUSED)
    try:
        subscription, secret = webhooks.create_subscription(form.url.data, form.events.data or [],
                                                            created_by_id=current_user.id)
    except Invalid as exc:
        db.session.rollback()
        for message in put_errors(form, exc.errors):
            form.form_errors.append(message)
        return _list_page(form, REFUSED)
    db.session.commit()
    return _detail_page(subscription, secret=secret, status=201)


@bp.get("/webhooks/<int:subscription_id>")
def hooks_detail(subscription_id: int):
    """One webhook: its settings and its latest deliveries with their response codes."""
    return _detail_page(get_or_404(WebhookSubscription, subscription_id))


@bp.post("/webhooks/<int:subscription_id>")
def hooks_update(subscription_id: int):
    """Change the URL or the events."""
    subscription = get_or_404(WebhookSubscription, subscription_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _detail_page(subscription, form, REFUSED)
    try:
        webhooks.update_subscription(subscription, form.url.data, form.events.data or [])
    except Invalid as exc:
        db.session.rollback()
        for message in put_errors(form, exc.errors):
            form.form_errors.append(message)
        return _detail_page(get_or_404(WebhookSubscription, subscription_id), form, REFUSED)
    db.session.commit()
    flash("Webhook saved.", "success")
    return see_other(url_for("settings.hooks_detail", subscription_id=subscription_id))


@bp.post("/webhooks/<int:subscription_id>/enable")
def hooks_enable(subscription_id: int):
    """Turn the webhook on."""
    webhooks.set_enabled(get_or_404(WebhookSubscription, subscription_id), True)
    db.session.commit()
    flash("Webhook turned on.", "success")
    return see_other(url_for("settings.hooks_detail", subscription_id=subscription_id))


@bp.post("/webhooks/<int:subscription_id>/disable")
def hooks_disable(subscription_id: int):
    """Turn the webhook off: no new deliveries, and waiting ones are not sent."""
    webhooks.set_enabled(get_or_404(WebhookSubscription, subscription_id), False)
    db.session.commit()
    flash("Webhook turned off.", "success")
    return see_other(url_for("settings.hooks_detail", subscription_id=subscription_id))


@bp.post("/webhooks/<int:subscription_id>/rotate")
def hooks_rotate(subscription_id: int):
    """A new signing secret, shown this once; the old one stops at once."""
    subscription = get_or_404(WebhookSubscription, subscription_id)
    secret = webhooks.rotate_secret(subscription)
    db.session.commit()
    return _detail_page(subscription, secret=secret)


@bp.post("/webhooks/<int:subscription_id>/delete")
def hooks_delete(subscription_id: int):
    """Delete the webhook and its delivery log."""
    webhooks.delete_subscription(get_or_404(WebhookSubscription, subscription_id))
    db.session.commit()
    flash("Webhook deleted.", "success")
    return see_other(url_for("settings.hooks_list"))


@bp.get("/webhooks/deliveries/<int:delivery_id>")
def hooks_delivery(delivery_id: int):
    """One delivery: what was sent, and every attempt with its response code or error."""
    delivery = get_or_404(WebhookDelivery, delivery_id)
    return render("settings/hooks_delivery.html", delivery=delivery, attempts=webhooks.attempts_of(delivery))


@bp.post("/webhooks/deliveries/<int:delivery_id>/replay")
def hooks_replay(delivery_id: int):
    """Send the delivery again now (a new attempt, and a fresh 24 hours of retries)."""
    delivery = get_or_404(WebhookDelivery, delivery_id)
    try:
        webhooks.replay(delivery)
    except Invalid as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Sending the delivery again.", "success")
    return see_other(url_for("settings.hooks_delivery", delivery_id=delivery_id))
