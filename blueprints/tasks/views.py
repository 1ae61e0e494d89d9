"""Task routes: thin; the rules live in services.tasks."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.htmx import render, see_other
from blueprints.tasks.blueprint import bp
from blueprints.tasks.forms import TaskForm
from extensions import db
from models import Contact, Deal, Task
from services.errors import Invalid
from services.tasks import create_task, my_tasks, set_done
from services.workspace import workspace_zone

BACKS = ("mine", "contact", "deal", "inbox")


def back_url(back: str | None, contact_id: int | None, deal_id: int | None) -> str:
    """Where a task or note form returns: the page it was on."""
    if back == "deal" and deal_id:
        return url_for("deals.detail", deal_id=deal_id)
    if back == "inbox" and contact_id:
        return url_for("inbox.conversation", contact_id=contact_id)
    if back == "contact" and contact_id:
        return url_for("contacts.detail", contact_id=contact_id)
    return url_for("tasks.mine")


@bp.get("/")
def mine():
    """My open tasks: overdue, due today and upcoming in the workspace's time zone, and the last ones done."""
    zone = workspace_zone()
    return render("tasks/mine.html", mine=my_tasks(current_user.id, zone), zone=zone)


def _subject() -> tuple[Contact | None, Deal | None]:
    """The contact or deal named in the query string; another workspace's is a 404."""
    contact_id, deal_id = request.args.get("contact_id", type=int), request.args.get("deal_id", type=int)
    deal = get_or_404(Deal, deal_id) if deal_id else None
    contact = get_or_404(Contact, contact_id) if contact_id else None
    return contact, deal


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a task to the contact (`?contact_id=`) or deal (`?deal_id=`); refused: the form again with why."""
    contact, deal = _subject()
    form = TaskForm()
    if request.method == "GET":
        form.back.data = request.args.get("back") if request.args.get("back") in BACKS else "mine"
    if form.validate_on_submit():
        try:
            task = create_task(form.title.data, form.due_at.data, workspace_zone(), contact=contact, deal=deal,
                               user_id=current_user.id)
        except Invalid as exc:
            db.session.rollback()
            for message in put_errors(form, exc.errors):
                flash(message, "error")
        else:
            db.session.commit()
            flash("Task added.", "success")
            return see_other(back_url(form.back.data, task.contact_id, task.deal_id))
    return render("tasks/form.html", status=form_status(), form=form, contact=contact, deal=deal,
                  zone=workspace_zone())


@bp.post("/<int:task_id>/done")
def done(task_id: int):
    """Mark a task done (or, with `done=0`, not done again)."""
    task = get_or_404(Task, task_id)
    set_done(task, request.form.get("done", "1") != "0")
    db.session.commit()
    return see_other(back_url(request.form.get("back"), task.contact_id, task.deal_id))


@bp.app_template_global("overdue_task_count")
def overdue_task_count() -> int:
    """The navigation's badge: the logged-in user's overdue tasks (safe on error pages, as the channel badge is)."""
    from models.tenancy import current_tenant_id_or_none, tenant_scope
    from services.tasks import overdue_count

    if not current_user.is_authenticated:
        return 0
    if current_tenant_id_or_none() == current_user.tenant_id:
        return overdue_count(current_user.id)
    with tenant_scope(current_user.tenant_id):
        return overdue_count(current_user.id)
