"""Settings > WhatsApp: link a Cloud API number, a QR-linked device or the sandbox."""
from __future__ import annotations

from flask import flash, url_for

from blueprints.common import put_errors
from blueprints.htmx import REFUSED, is_htmx, render, see_other
from blueprints.settings.blueprint import bp
from blueprints.settings.whatsapp_forms import CloudForm
from extensions import db
from models import Channel
from services.channels import ChannelSetupError, capabilities_for, gateway_available, get_channel, webhook_url
from services.crypto import mask
from services.errors import Invalid
from services.linking import (
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
from services.phones import format_phone
from services.public_url import webhook_reach_problem
from services.qr import qr_data_uri
from services.sandbox import phone_url
from whatsapp.base import Capabilities, ProviderError

PAGE = "settings/whatsapp.html"
STATUS = "settings/_link_status.html"
NOTICE = "settings/_notice.html"


def _capabilities(channel: Channel | None) -> Capabilities | None:
    return capabilities_for(channel.kind) if channel is not None else None


def _page(form: CloudForm | None = None, status: int = 200, error: str | None = None):
    channel = get_channel()
    caps = _capabilities(channel)
    if form is None:
        form = CloudForm(obj=channel if caps is not None and caps.credentials else None)
        if form.rate_per_second.data is not None:
            form.rate_per_second.data = int(form.rate_per_second.data)  # stored as a float, typed as a whole number
    return render(PAGE, status=status, channel=channel, form=form, error=error,
                  gateway_available=gateway_available(), **_status_context(channel))


def _qr_code(channel: Channel | None, caps: Capabilities | None) -> str | None:
    """The QR's content; a QR that is a link to our own page is rebuilt on today's base URL (port, host)."""
    if channel is None or not channel.qr_code:
        return None
    return phone_url(channel) if caps is not None and caps.qr_is_link else channel.qr_code


def _status_context(channel: Channel | None) -> dict:
    caps = _capabilities(channel)
    qr_code = _qr_code(channel, caps)
    return {
        "caps": caps,
        "qr_code": qr_code,
        "qr_image": qr_data_uri(qr_code) if qr_code else None,
        "webhook_url": webhook_url(channel) if caps is not None and caps.webhooks else None,
        "masked_token": mask(channel.access_token) if channel is not None and channel.access_token else "",
        "masked_secret": mask(channel.app_secret) if channel is not None and channel.app_secret else "",
        "media_link_problem": gateway_link_problem() if caps is not None and caps.fetches_media_links else None,
        "webhook_problem": webhook_reach_problem() if caps is not None and caps.manual_webhook else None,
    }


def _fail(exc: Exception, form: CloudForm | None = None):
    """A provider or setup refusal: roll back, show why, keep the page."""
    db.session.rollback()
    message = exc.message if isinstance(exc, ProviderError) else str(exc)
    if is_htmx():
        return render(NOTICE, kind="error", message=message)
    return _page(form, status=502 if isinstance(exc, ProviderError) else REFUSED, error=message)


@bp.get("/whatsapp")
def whatsapp():
    """The linking page."""
    return _page()


@bp.post("/whatsapp/cloud")
def whatsapp_cloud():
    """Save Cloud API credentials."""
    form = CloudForm()
    if not form.validate_on_submit():
        return _page(form, REFUSED)
    try:
        save_cloud_credentials(form.phone_number_id.data or "", form.waba_id.data or "",
                               form.access_token.data or "", form.app_secret.data or "",
                               form.rate_per_second.data)
    except Invalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return _page(form, REFUSED)
    except ChannelSetupError as exc:
        return _fail(exc, form)
    db.session.commit()
    flash("Cloud API credentials saved. Test the connection next.", "success")
    return see_other(url_for("settings.whatsapp"))


@bp.post("/whatsapp/cloud/test")
def whatsapp_cloud_test():
    """Check the credentials against the Graph API (HTMX: answers with a notice)."""
    channel = get_channel()
    if channel is None or not capabilities_for(channel.kind).credentials:
        return _fail(ChannelSetupError("Save Cloud API credentials first."))
    try:
        status = test_cloud_connection(channel)
    except (ProviderError, ChannelSetupError) as exc:
        db.session.commit()  # keep the error state so the badge says so
        message = exc.message if isinstance(exc, ProviderError) else str(exc)
        return _respond("error", f"Connection failed: {message}")
    db.session.commit()
    details = (f"{format_phone(status.phone_number)} · {status.verified_name or 'no verified name'} · "
               f"quality {status.quality or 'unknown'}")
    return _respond("success", f"Connected: {details}")


@bp.post("/whatsapp/cloud/subscribe")
def whatsapp_cloud_subscribe():
    """Subscribe the app to the account's webhooks."""
    channel = get_channel()
    if channel is None or not capabilities_for(channel.kind).webhook_subscription:
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
        return _page(status=502 if gateway_said else REFUSED,
                     error=f"The gateway did not take the new webhook URL ({exc.message if gateway_said else exc}). "
                           "Nothing was changed: the current URL keeps working.")
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        restore_gateway_webhook(channel)
        raise
    if capabilities_for(channel.kind).instance_lifecycle:
        flash("New webhook URL generated; the gateway now posts to it.", "success")
    else:
        flash("New webhook URL and verify token generated. Update them in your provider's settings.", "success")
    return see_other(url_for("settings.whatsapp"))


@bp.post("/whatsapp/qr")
def whatsapp_qr():
    """Start (or renew) linking a device by QR through the gateway."""
    try:
        channel = get_channel()
        if channel is not None and capabilities_for(channel.kind).instance_lifecycle and channel.instance_name:
            refresh_qr(channel)
        else:
            start_qr_link()
    except (ProviderError, ChannelSetupError) as exc:
        return _fail(exc)
    db.session.commit()
    return see_other(url_for("settings.whatsapp"))


@bp.post("/whatsapp/sandbox")
def whatsapp_sandbox():
    """Link the sandbox (refused while a WhatsApp is connected: it would do nothing or unlink it)."""
    channel = get_channel()
    if channel is not None and channel.is_connected:
        already = capabilities_for(channel.kind).qr_is_link
        return _fail(ChannelSetupError("The sandbox is linked already." if already
                                       else "Disconnect the current WhatsApp first to use the sandbox instead."))
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
    return render(STATUS, channel=channel, oob_badge=True, **_status_context(channel))


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


def _respond(level: str, message: str):
    if is_htmx():
        return render(NOTICE, kind=level, message=message)
    flash(message, "success" if level == "success" else "error")
    return see_other(url_for("settings.whatsapp"))
