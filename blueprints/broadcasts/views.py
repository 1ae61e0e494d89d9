"""Broadcast routes: thin; rules, sending and counts live in services.broadcasts."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, request, url_for
from sqlalchemy import select

from blueprints.broadcasts.blueprint import bp
from blueprints.broadcasts.forms import (
    SOURCE_LABELS,
    BroadcastForm,
    data_from,
    form_data,
    prepare,
    variables_from,
)
from blueprints.common import get_or_404, put_errors
from blueprints.htmx import REFUSED, render, see_other, unchanged_poll
from extensions import db
from models import Broadcast, MessageTemplate
from models.base import utcnow
from services import broadcasts as service
from services.broadcasts.audience import clean_audience
from services.broadcasts.content import find_template, template_variable_names
from services.broadcasts.progress import COUNTERS, FINAL
from services.broadcasts.recipients import STATES, parse_query
from services.channels import get_channel
from services.errors import Invalid
from services.inbox import approved_templates
from services.segments import all_segments
from services.tags import all_tags
from services.workspace import workspace_zone

# Delivered and read receipts keep arriving after the last send; the finished page watches for them this long.
RECEIPTS_WATCHED = timedelta(days=2)


@bp.get("/")
def index():
    """Every broadcast, newest first, with its state and totals."""
    rows = list(db.session.scalars(select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())))
    return render("broadcasts/index.html", rows=rows, totals=service.totals([b.id for b in rows]))


def _template_of(form: BroadcastForm) -> MessageTemplate | None:
    raw = str(form.template_id.data or "")
    if form.content.data != "template" or not raw.isdigit():
        return None
    return db.session.scalar(select(MessageTemplate).where(MessageTemplate.id == int(raw)))


def _preview(form: BroadcastForm) -> dict:
    """Audience count, how many the window would skip, and the message for a sample contact."""
    template = _template_of(form)
    data = data_from(form, request.form, template)
    draft = Broadcast(name="preview", audience={}, body=data["body"] if form.content.data != "template" else None,
                      template_name=template.name if template else None,
                      template_language=template.language if template else None,
                      template_variables=variables_from(request.form, template))
    try:
        draft.audience = clean_audience(data["audience"])
    except Invalid as exc:
        return {"problems": list(exc.errors.values())}
    total, skipped = service.audience_counts(draft, get_channel())
    sample = service.sample_contact(draft.audience)
    problems = service.placeholder_problems(draft.body or "") if draft.body else []
    rendered = service.render_for(draft, sample, template) if sample is not None and not problems else None
    return {"total": total, "skipped": skipped, "sample": sample, "rendered": rendered, "problems": problems}


def _editor(form: BroadcastForm, broadcast: Broadcast | None):
    templates = approved_templates()
    prepare(form, all_tags(), all_segments(), templates)
    status, problems = 200, []
    if request.method == "POST" and "refresh" not in request.form:
        status = REFUSED
        if form.validate_on_submit():
            try:
                saved = service.save_broadcast(data_from(form, request.form, _template_of(form)), broadcast)
            except Invalid as exc:
                db.session.rollback()
                problems = put_errors(form, exc.errors)
            else:
                db.session.commit()
                return see_other(url_for("broadcasts.show", broadcast_id=saved.id))
    template = _template_of(form)
    variables = variables_from(request.form, template) if request.method == "POST" else (
        broadcast.template_variables if broadcast and broadcast.template_variables else [])
    preview = _preview(form)
    return render("broadcasts/form.html", status=status, form=form, broadcast=broadcast, problems=problems,
                  template=template, variable_names=template_variable_names(template), variables=variables,
                  sources=_sources(preview.get("sample"), variables), preview=preview, zone=workspace_zone())


def _sources(sample, variables) -> list[tuple[str, str]]:
    """Where a template variable can take its value: the fixed sources, and the custom fields of the sample
    contact or already chosen."""
    keys = set((sample.custom_fields or {}) if sample is not None else {})
    keys |= {v["source"][len("field:"):] for v in variables or [] if str(v.get("source", "")).startswith("field:")}
    return [*SOURCE_LABELS, *((f"field:{key}", f"Field: {key}") for key in sorted(keys))]


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Write a broadcast; the preview shows the audience and a sample contact's message as it changes."""
    return _editor(BroadcastForm(), None)


@bp.route("/<int:broadcast_id>/edit", methods=["GET", "POST"])
def edit(broadcast_id: int):
    """Change a draft or scheduled broadcast (saving makes it a draft again, to be confirmed)."""
    broadcast = get_or_404(Broadcast, broadcast_id)
    if broadcast.status not in ("draft", "scheduled"):
        return see_other(url_for("broadcasts.show", broadcast_id=broadcast.id))
    form = (BroadcastForm(data=form_data(broadcast, find_template(broadcast), workspace_zone()))
            if request.method == "GET" else BroadcastForm())
    return _editor(form, broadcast)


@bp.post("/preview")
def live_preview():
    """The preview of the form being edited (htmx swaps it in as the form changes)."""
    form = prepare(BroadcastForm(), all_tags(), all_segments(), approved_templates())
    return render("broadcasts/_preview.html", preview=_preview(form))


def _poll_every(broadcast: Broadcast) -> str | None:
    """How often the progress polls: fast while sending; slowly for a while after, as receipts still arrive."""
    if broadcast.status not in FINAL:
        return "2s"
    finished = broadcast.finished_at
    return "30s" if finished is not None and utcnow() - finished < RECEIPTS_WATCHED else None


def _progress_context(broadcast: Broadcast) -> dict:
    shown = service.progress(broadcast)
    return {"broadcast": broadcast, "progress": shown, "version": shown.version(broadcast.status),
            "counters": COUNTERS, "final": broadcast.status in FINAL, "poll_every": _poll_every(broadcast)}


@bp.get("/<int:broadcast_id>")
def show(broadcast_id: int):
    """A draft's confirm step (exact audience count, what the window would skip), else its progress."""
    broadcast = get_or_404(Broadcast, broadcast_id)
    context = {"broadcast": broadcast, "zone": workspace_zone()}
    if broadcast.status in ("draft", "scheduled"):
        channel = get_channel()
        try:
            total, skipped = service.audience_counts(broadcast, channel)
        except Invalid as exc:  # its segment was deleted since it was saved
            total, skipped = 0, 0
            context["problems"] = list(exc.errors.values())
        sample = service.sample_contact(broadcast.audience)
        context.update(total=total, skipped=skipped, channel=channel, sample=sample,
                       rendered=service.render_for(broadcast, sample) if sample is not None else None)
        return render("broadcasts/confirm.html", **context)
    table, status = _table(broadcast)
    return render("broadcasts/progress.html", status=status, **{**context, **table, **_progress_context(broadcast)})


@bp.get("/<int:broadcast_id>/progress")
def progress(broadcast_id: int):
    """The polled bar and counters: 204 while nothing changed, no more polling once final."""
    broadcast = get_or_404(Broadcast, broadcast_id)
    context = _progress_context(broadcast)
    if (unchanged := unchanged_poll(context["version"])) is not None:
        return unchanged
    return render("broadcasts/_progress.html", "broadcasts/_progress.html", **context)


@bp.get("/<int:broadcast_id>/recipients")
def recipients(broadcast_id: int):
    """The recipients table, filtered by state, a page at a time (the progress poll leaves it alone)."""
    broadcast = get_or_404(Broadcast, broadcast_id)
    table, status = _table(broadcast)
    return render("broadcasts/_recipients.html", "broadcasts/_recipients.html", status=status, broadcast=broadcast,
                  **table)


def _table(broadcast: Broadcast) -> tuple[dict, int]:
    """The table's page for the query string, or the first page with what was wrong and a 400."""
    try:
        state, after, before = parse_query(request.args)
    except Invalid as exc:
        return {"state": None, "page": service.recipients(broadcast), "table_problems": list(exc.errors.values()),
                "states": STATES}, 400
    return {"state": state, "page": service.recipients(broadcast, state, after, before), "states": STATES}, 200


ACTIONS = {
    "start": (service.confirm, None),
    "pause": (service.pause, "Paused: messages not yet on their way were taken back."),
    "resume": (service.resume, "Sending again."),
    "cancel": (service.cancel, "Cancelled: nobody else will receive it."),
    "retry": (service.retry_failed, "Failed recipients queued again."),
}


def _act(broadcast_id: int, action: str):
    """Start (or schedule), pause, resume, cancel, retry failed; a refused action says why."""
    broadcast = get_or_404(Broadcast, broadcast_id)
    func, message = ACTIONS[action]
    try:
        outcome = func(broadcast)
    except Invalid as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
    else:
        db.session.commit()
        if action == "start":
            message = "Scheduled." if outcome == "scheduled" else "Sending started."
        flash(message, "success")
    return see_other(url_for("broadcasts.show", broadcast_id=broadcast_id))


def _action_view(action: str):
    def view(broadcast_id: int):
        return _act(broadcast_id, action)

    view.__doc__ = f"{action.capitalize()} the broadcast."
    return view


for _action in ACTIONS:
    bp.add_url_rule(f"/<int:broadcast_id>/{_action}", endpoint=_action, view_func=_action_view(_action),
                    methods=["POST"])
