"""The sandbox phone: a page that plays the customer's side of a sandbox channel.

Its URL (the sandbox QR) is unguessable; what it does enters the same event pipeline as
real webhooks.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, abort, flash, render_template, request, url_for
from sqlalchemy import func, select

from blueprints.htmx import see_other, unchanged_poll
from extensions import db
from models import Channel, Message
from models.tenancy import lookup_tenant_id, tenant_scope
from services.channels import capabilities_for, kinds_with
from services.phones import InvalidPhone, normalize_phone
from services.sandbox import simulate_inbound, simulate_scan

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
TEXT_MAX = 4096
SHOWN = 20


@contextmanager
def sandbox_scope(instance: str) -> Iterator[Channel]:
    """Enter the tenant owning this sandbox and yield its channel; 404 for anything else."""
    tenant_id = lookup_tenant_id(Channel.instance_name, instance)
    if tenant_id is None:
        abort(404)
    with tenant_scope(tenant_id):
        channel = db.session.scalar(select(Channel).where(Channel.instance_name == instance))
        # Only a provider whose QR opens a web page has a phone page: the sandbox.
        if channel is None or not capabilities_for(channel.kind).qr_is_link:
            abort(404)
        yield channel


@bp.get("/<instance>")
def phone(instance: str):
    """The phone screen: scan to link, then write as a customer and see what the business sent."""
    with sandbox_scope(instance) as channel:
        return _phone_page(channel, request.args)


def _sandbox_messages():
    """Outbound messages that went through the sandbox itself.

    The page needs no login, so it shows only what went through the sandbox, never what the
    workspace sent to real customers over another channel.
    """
    return select(Message).where(Message.direction == Message.OUTBOUND,
                                 Message.channel_kind.in_(kinds_with("qr_is_link")))


def _screen_version(channel: Channel) -> str:
    """Changes when the link state changes or a sandbox message is added or changes state (its receipts)."""
    shown = _sandbox_messages().subquery()
    count, newest, top = db.session.execute(
        select(func.count(shown.c.id), func.max(shown.c.updated_at), func.max(shown.c.id))).one()
    parts = (channel.state, channel.phone_number, count, newest, top)
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _screen_context(channel: Channel, form) -> dict:
    outbound = db.session.scalars(_sandbox_messages().order_by(Message.id.desc()).limit(SHOWN)).all()
    return {"channel": channel, "outbound": outbound, "form": form, "version": _screen_version(channel)}


def _phone_page(channel: Channel, form, errors: list[str] | None = None, status: int = 200):
    """The phone screen with the last messages the business sent through the sandbox (and any errors)."""
    return render_template("sandbox/phone.html", errors=errors, **_screen_context(channel, form)), status


@bp.get("/<instance>/screen")
def screen(instance: str):
    """The polled part of the phone: link state and what arrived; 204 while nothing changed."""
    with sandbox_scope(instance) as channel:
        if (unchanged := unchanged_poll(_screen_version(channel))) is not None:
            return unchanged
        return render_template("sandbox/_screen.html", **_screen_context(channel, {}))


@bp.post("/<instance>/scan")
def scan(instance: str):
    """Pretend the phone scanned the QR."""
    with sandbox_scope(instance) as channel:
        simulate_scan(channel)
        db.session.commit()
        flash("Scanned. The workspace links in a moment.", "success")
        return see_other(url_for("sandbox.phone", instance=instance))


@bp.post("/<instance>/inbound")
def inbound(instance: str):
    """A customer writes to the business."""
    with sandbox_scope(instance) as channel:
        text = (request.form.get("text") or "").strip()
        name = (request.form.get("name") or "").strip()[:100] or "Sandbox customer"
        errors = []
        try:
            number = normalize_phone(request.form.get("from_number") or "", "US")
        except InvalidPhone as exc:
            errors.append(str(exc))
        if not text:
            errors.append("Write a message.")
        elif len(text) > TEXT_MAX:
            errors.append(f"Messages stay under {TEXT_MAX} characters.")
        if errors or not channel.is_connected:
            if not channel.is_connected:
                errors.append("Scan the QR first: the sandbox is not linked.")
            return _phone_page(channel, request.form, errors, 400)
        simulate_inbound(channel, number.lstrip("+"), name, text)
        db.session.commit()
        flash("Sent to the business.", "success")
        return see_other(url_for("sandbox.phone", instance=instance))
