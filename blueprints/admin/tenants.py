"""Admin › Tenants: the list, a tenant's page and actions, and the read-only support views."""
from __future__ import annotations

from flask import abort, flash, request, url_for

from blueprints.admin.blueprint import bp
from blueprints.admin.forms import QuotaForm
from blueprints.common import put_errors
from blueprints.htmx import REFUSED, render, see_other
from extensions import db
from models import User
from models.tenancy import tenant_scope
from services.admin import actions
from services.admin.support import support_contacts, support_conversation
from services.admin.tenants import (
    SORTS,
    get_tenant,
    link_details,
    list_tenants,
    quota_defaults,
    recent_errors,
    stats_for,
    tenant_users,
)
from services.analytics import date_range, messages_over_time
from services.audit import record
from services.channels import ChannelSetupError
from services.errors import Invalid
from services.quotas import contact_usage, message_usage
from whatsapp.base import ProviderError


def _tenant_or_404(tenant_id: int):
    tenant = get_tenant(tenant_id)
    if tenant is None:
        abort(404)
    return tenant


@bp.get("/tenants")
def tenants():
    """Every workspace with its owner, link and usage; search, sort and pages."""
    query = request.args.get("q", "").strip()
    sort = request.args.get("sort", "created")
    sort = sort if sort in SORTS else "created"
    descending = request.args.get("dir", "desc") != "asc"
    record("admin.viewed_tenants", tenant_id=None, changes={"search": query or None})
    db.session.commit()
    found = list_tenants(query, sort, descending, request.args.get("page", 1, type=int))
    return render("admin/tenants.html", "admin/_tenant_rows.html", found=found, query=query, sort=sort,
                  descending=descending, defaults=quota_defaults())


def _tenant_page(tenant, quota_form: QuotaForm | None = None, status: int = 200, reset_link: str | None = None):
    with tenant_scope(tenant.id):
        usage = {"contacts": contact_usage(tenant), "messages": message_usage(tenant)}
        usage_chart = messages_over_time(date_range())
    form = quota_form or QuotaForm(formdata=None, data={"contacts": tenant.quota_contacts,
                                                        "messages_per_day": tenant.quota_messages_per_day})
    return render("admin/tenant.html", status=status, tenant=tenant, users=tenant_users(tenant.id),
                  link=link_details(tenant.id), errors=recent_errors(tenant.id), stats=stats_for(tenant.id),
                  usage=usage, usage_chart=usage_chart, defaults=quota_defaults(), quota_form=form,
                  reset_link=reset_link)


@bp.get("/tenants/<int:tenant_id>")
def tenant(tenant_id: int):
    """A workspace: link details (never secrets), usage, quotas, recent errors and the actions."""
    found = _tenant_or_404(tenant_id)
    record("admin.viewed_tenant", target=found, tenant_id=found.id)
    db.session.commit()
    return _tenant_page(found)


def _act(tenant_id: int, action, done: str):
    found = _tenant_or_404(tenant_id)
    try:
        action(found)
    except (Invalid, ProviderError, ChannelSetupError) as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()) if isinstance(exc, Invalid) else str(exc), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return see_other(url_for("admin.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/suspend")
def suspend(tenant_id: int):
    """Suspend the workspace: logged out, no logins, webhooks stored but not processed, no sending."""
    return _act(tenant_id, actions.suspend, "Suspended. Its people are logged out and nothing is sent.")


@bp.post("/tenants/<int:tenant_id>/unsuspend")
def unsuspend(tenant_id: int):
    """Reinstate the workspace."""
    return _act(tenant_id, actions.unsuspend, "Reinstated. Stored webhooks are processed within minutes.")


@bp.post("/tenants/<int:tenant_id>/disconnect")
def disconnect(tenant_id: int):
    """Force-disconnect the workspace's WhatsApp (gateway logout and delete; Cloud credentials dropped)."""
    return _act(tenant_id, actions.force_disconnect, "WhatsApp disconnected.")


@bp.post("/tenants/<int:tenant_id>/quotas")
def quotas(tenant_id: int):
    """Set the workspace's own quotas (empty: the default)."""
    found = _tenant_or_404(tenant_id)
    form = QuotaForm()
    if form.validate_on_submit():
        try:
            actions.set_quotas(found, form.contacts.data, form.messages_per_day.data)
        except Invalid as exc:
            db.session.rollback()
            put_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Quotas saved.", "success")
            return see_other(url_for("admin.tenant", tenant_id=tenant_id))
    return _tenant_page(found, form, status=REFUSED)


@bp.post("/tenants/<int:tenant_id>/users/<int:user_id>/reset-password")
def reset_password(tenant_id: int, user_id: int):
    """A one-time link for the user to set a new password, shown once on the tenant's page."""
    found = _tenant_or_404(tenant_id)
    user = db.session.get(User, user_id)
    if user is None or user.tenant_id != found.id:
        abort(404)
    link = actions.password_reset_link(found, user)
    db.session.commit()
    return _tenant_page(found, reset_link=link)


@bp.get("/tenants/<int:tenant_id>/contacts")
def tenant_contacts(tenant_id: int):
    """Read-only: the workspace's contacts (the look is written to its audit log)."""
    found = _tenant_or_404(tenant_id)
    query = request.args.get("q", "")
    page = support_contacts(found.id, query, request.args.get("page", 1, type=int))
    with tenant_scope(found.id):  # rendered before the commit, in the workspace's scope (tags load lazily)
        response = render("admin/contacts.html", tenant=found, pagination=page, query=query)
    db.session.commit()
    return response


@bp.get("/tenants/<int:tenant_id>/contacts/<int:contact_id>")
def tenant_conversation(tenant_id: int, contact_id: int):
    """Read-only: one conversation of the workspace (the look is written to its audit log)."""
    found = _tenant_or_404(tenant_id)
    opened = support_conversation(found.id, contact_id)
    if opened is None:
        abort(404)
    contact, messages, more = opened
    with tenant_scope(found.id):
        response = render("admin/conversation.html", tenant=found, contact=contact, messages=messages, more=more)
    db.session.commit()
    return response
