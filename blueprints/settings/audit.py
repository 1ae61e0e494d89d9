"""Settings › Audit log: what was done in this workspace, by whom (platform admins included), and from where."""
from __future__ import annotations

from flask import request

from blueprints.htmx import REFUSED, render
from blueprints.settings.audit_forms import AuditFilterForm
from blueprints.settings.blueprint import bp
from services.audit import action_names, search_events
from services.paging import capped_page

PER_PAGE = 50
ENDPOINT = "settings.audit_log"


@bp.get("/audit")
def audit_log():
    """The workspace's audit entries, newest first, filtered and paged."""
    form = AuditFilterForm(request.args)
    if request.args and not form.validate():
        return render("settings/audit.html", "settings/_audit_results.html", status=REFUSED, form=form,
                      pagination=None, actions=action_names(), filters={}, endpoint=ENDPOINT)
    filters = {"action": form.action.data or "", "actor": form.actor.data or "", "since": form.since.data,
               "until": form.until.data}
    pagination = capped_page(search_events(**filters), request.args.get("page", 1, type=int), PER_PAGE)
    return render("settings/audit.html", "settings/_audit_results.html", form=form, pagination=pagination,
                  actions=action_names(), filters=filters, endpoint=ENDPOINT)
