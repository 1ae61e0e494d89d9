"""Admin overview and the platform-wide audit log.

Each view writes its audit entry and commits first, then reads: what it renders is never expired by a
commit and reloaded in the admin's own workspace scope.
"""
from __future__ import annotations

from flask import request

from blueprints.admin.blueprint import bp
from blueprints.analytics.forms import RangeForm
from blueprints.analytics.views import analytics_context
from blueprints.htmx import REFUSED, render
from blueprints.settings.audit_forms import AuditFilterForm
from extensions import db
from models.tenancy import unscoped
from services.admin.audit import all_action_names, all_events
from services.admin.overview import platform_overview
from services.audit import record
from services.paging import capped_page

PER_PAGE = 50


@bp.get("/")
def overview():
    """Workspaces, active links, messages per hour, failure rate, webhook backlog."""
    record("admin.viewed_overview", tenant_id=None)
    db.session.commit()
    return render("admin/overview.html", figures=platform_overview())


@bp.get("/audit")
def audit_log():
    """Every workspace's audit entries and the platform's own, filtered and paged."""
    form = AuditFilterForm(request.args)
    tenant = request.args.get("tenant", type=int)
    context = {"form": form, "endpoint": "admin.audit_log", "show_tenant": True,
               "filter_args": {"tenant": tenant} if tenant else {}}
    if request.args and not form.validate():
        return render("admin/audit.html", "settings/_audit_results.html", status=REFUSED, pagination=None,
                      filters={}, actions=all_action_names(), **context)
    filters = {"action": form.action.data or "", "actor": form.actor.data or "", "since": form.since.data,
               "until": form.until.data}
    record("admin.viewed_audit_log", tenant_id=None, changes={"workspace": tenant})
    db.session.commit()
    with unscoped():
        pagination = capped_page(all_events(tenant_id=tenant, **filters), request.args.get("page", 1, type=int),
                                 PER_PAGE)
        return render("admin/audit.html", "settings/_audit_results.html", pagination=pagination,
                      filters=filters, actions=all_action_names(), **context)


@bp.get("/analytics")
def analytics():
    """Analytics of the whole platform (every workspace together)."""
    record("admin.viewed_analytics", tenant_id=None)
    db.session.commit()
    with unscoped():
        context, status = analytics_context(RangeForm(request.args), platform=True)
        return render("analytics/index.html", status=status, endpoint="admin.analytics", platform=True, **context)
