"""Settings > WhatsApp: link a Cloud API number, a QR-linked device or the sandbox."""
from __future__ import annotations

from flask import flash, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import Optional

from blueprints.common import put_errors
from blueprints.htmx import is_htmx, see_other
from blueprints.settings.blueprint import bp
from extensions import db
from services.channels import ChannelSetupError, gateway_available, get_channel, webhook_url
from services.crypto import mask
from services.linking import (
    CredentialsInvalid,
    disconnect_channel,
    refresh_link_status,
    refresh_qr,
    regenerate_webhook,
    restore_gateway_webhook,
    save_cloud_credentials,
    start_qr_link,
    start_sandbox,
    subscribe_cloud_webhooks,
    test_cloud_connection,
)
from services.media_links import gateway_link_problem
from services.qr import qr_data_uri
from whatsapp.base import ProviderError


class CloudForm(FlaskForm):
    """Cloud API credentials; secrets are write-only (blank keeps the stored value)."""

    phone_number_id = StringField("Phone number ID")
    waba_id = StringField("WhatsApp Business Account ID")
    access_token = PasswordField("Access token")
    app_secret = PasswordField("App secret")
    rate_per_second = IntegerField("Sending rate (messages per second)", validators=[Optional()],
                                   description="Meta allows 80 by default and up to 1,000 once your account "
                                               "is upgraded. Leave empty for 80.")


def _page(form: CloudForm | None = None, status: int = 200, error: str | None = None):
    channel = get_channel()
    if form is None:
        form = CloudForm(obj=channel if channel is not None and channel.kind == "cloud" else None)
        if form.rate_per_second.data is not None:
            form.rate_per_second.data = int(form.rate_per_second.data)  # stored as a float, typed as a whole number
    return render_template("settings/whatsapp.html", channel=channel, form=form, error=error,
                           gateway_available=gateway_available(), **_status_context(channel)), status


def _status_context(channel) -> dict:
    return {
        "qr_image": qr_data_uri(channel.qr_code) if channel is not None and channel.qr_code else None,
        "webhook_url": webhook_url(channel) if channel is not None and channel.kind in ("cloud", "gateway") else None,
        "masked_token": mask(channel.access_token) if channel is not None and channel.access_token else "",
        "masked_secret": mask(channel.app_secret) if channel is not None and channel.app_secret else "",
        "media_link_problem": gateway_link_problem() if channel is not None and channel.kind == "gateway" else None,
    }


def _fail(exc: Exception, form: CloudForm | None = None):
    """A provider or setup refusal: roll back, show why, keep the page."""
    db.session.rollback()
    message = exc.message if isinstance(exc, ProviderError) else str(exc)
    if is_htmx():
        return render_template("settings/_notice.html", kind="error", message=message), 200
    return _page(form, status=502 if isinstance(exc, ProviderError) else 400, error=message)


@bp.get("/whatsapp")
def whatsapp():
    """The linking page."""
    return _page()


@bp.post("/whatsapp/cloud")
def whatsapp_cloud():
    """Save Cloud API credentials."""
    form = CloudForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        save_cloud_credentials(form.phone_number_id.data or "", form.waba_id.data or "",
                               form.access_token.data or "", form.app_secret.data or "",
                               form.rate_per_second.data)
    except CredentialsInvalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return _page(form, 400)
    except ChannelSetupError as exc:
        return _fail(exc, form)
    db.session.commit()
    flash("Cloud API credentials saved. Test the connection next.", "success")
    return see_other(url_for("settings.whatsapp"))


@bp.post("/whatsapp/cloud/test")
def whatsapp_cloud_test():
    """Check the credentials against the Graph API (HTMX: answers with a notice)."""
    channel = get_channel()
    if channel is None or channel.kind != "cloud":
        return _fail(ChannelSetupError("Save Cloud API credentials first."))
    try:
        status = test_cloud_connection(channel)
    except (ProviderError, ChannelSetupError) as exc:
        db.session.commit()  # keep the error state so the badge says so
        message = exc.message if isinstance(exc, ProviderError) else str(exc)
        return _respond("error", f"Connection failed: {message}")
    db.session.commit()
    details = (f"{status.phone_number or ''} · {status.verified_name or 'no verified name'} · "
               f"quality {status.quality or 'unknown'}")
    return _respond("success", f"Connected: {details}")


@bp.post("/whatsapp/cloud/subscribe")
def whatsapp_cloud_subscribe():
    """Subscribe the app to the account's webhooks."""
    channel = get_channel()
    if channel is None or channel.kind != "cloud":
        return _fail(ChannelSetupError("Save Cloud API credentials first."))
    try:
        subscribe_cloud_webhooks(channel)
    except (ProviderError, ChannelSetupError) as exc:
        return _fail(exc)
    db.session.commit()
    return _respond("success", "Webhooks subscribed: inbound messages and receipts will arrive here.")


@bp.post("/whatsapp/webhook/regenerate")
def whatsapp_regenerate():
    """New webhook URL and verify token (the old ones stop working); the gateway is told first."""
    channel = get_channel()
    if channel is None:
        return _fail(ChannelSetupError("Nothing is linked yet."))
    try:
        regenerate_webhook(channel)
    except (ProviderError, ChannelSetupError) as exc:
        db.session.rollback()
        restore_gateway_webhook(channel)
        gateway_said = isinstance(exc, ProviderError)
        return _page(status=502 if gateway_said else 400,
                     error=f"The gateway did not take the new webhook URL ({exc.message if gateway_said else exc}). "
                           "Nothing was changed: the current URL keeps working.")
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        restore_gateway_webhook(channel)
        raise
    if channel.kind == "gateway":
        flash("New webhook URL generated; the gateway now posts to it.", "success")
    else:
        flash("New webhook URL and verify token generated. Update them in your provider's settings.", "success")
    return see_other(url_for("settings.whatsapp"))


@bp.post("/whatsapp/qr")
def whatsapp_qr():
    """Start (or renew) linking a device by QR through the gateway."""
    try:
        channel = get_channel()
        if channel is not None and channel.kind == "gateway" and channel.instance_name:
            refresh_qr(channel)
        else:
            start_qr_link()
    except (ProviderError, ChannelSetupError) as exc:
        return _fail(exc)
    db.session.commit()
    return see_other(url_for("settings.whatsapp"))


@bp.post("/whatsapp/sandbox")
def whatsapp_sandbox():
    """Link the sandbox."""
    try:
        start_sandbox()
    except ChannelSetupError as exc:
        return _fail(exc)
    db.session.commit()
    return see_other(url_for("settings.whatsapp"))


@bp.get("/whatsapp/status")
def whatsapp_status():
    """The polled status partial; stops polling once the state is final."""
    channel = get_channel()
    if channel is not None:
        refresh_link_status(channel)
        db.session.commit()
    return render_template("settings/_link_status.html", channel=channel, oob_badge=True,
                           **_status_context(channel))


@bp.post("/whatsapp/disconnect")
def whatsapp_disconnect():
    """Unlink the channel and forget its credentials."""
    channel = get_channel()
    if channel is None:
        return see_other(url_for("settings.whatsapp"))
    try:
        disconnect_channel(channel)
    except ProviderError as exc:
        return _fail(exc)
    db.session.commit()
    flash("WhatsApp disconnected.", "success")
    return see_other(url_for("settings.whatsapp"))


def _respond(kind: str, message: str):
    if is_htmx():
        return render_template("settings/_notice.html", kind=kind, message=message)
    flash(message, "success" if kind == "success" else "error")
    return see_other(url_for("settings.whatsapp"))
