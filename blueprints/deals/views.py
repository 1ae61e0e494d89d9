"""The board, moves, and one deal's pages: thin; the rules live in services.deals."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.deals.blueprint import bp
from blueprints.deals.forms import DealForm, MoveForm
from blueprints.htmx import REFUSED, is_htmx, render, see_other
from extensions import db
from models import Contact, Deal, Pipeline, Stage
from services.deals import (
    CARDS_PER_COLUMN,
    DealFilter,
    DealInput,
    all_pipelines,
    board_columns,
    contacts_with_deals,
    create_deal,
    deals_of_contact,
    delete_deal,
    format_minor,
    history_of,
    move_deal,
    pipeline_or_default,
    plain_minor,
    stage_totals,
    stages_of,
    update_deal,
)
from services.errors import Invalid
from services.notes import timeline_of_deal
from services.tags import all_tags
from services.tasks import tasks_of_deal
from services.workspace import workspace_zone

BACKS = ("board", "contact", "inbox", "deal")


@bp.app_template_filter("money")
def money(value_minor: int, currency: str) -> str:
    """123450, 'USD' -> 'USD 1,234.50'."""
    return format_minor(value_minor, currency)


def _id_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


def deal_filter(*, by_stage: bool = False) -> DealFilter:
    """The filter in the query string; a malformed month is ignored with a message rather than failing the page."""
    month = (request.args.get("month") or "").strip()
    chosen = DealFilter(contact_id=_id_arg("contact"), tag_id=_id_arg("tag"), month=month,
                        stage_id=_id_arg("stage") if by_stage else None)
    try:
        chosen.criteria()
    except Invalid as exc:
        flash(exc.errors["month"], "error")
        chosen = DealFilter(contact_id=chosen.contact_id, tag_id=chosen.tag_id, stage_id=chosen.stage_id)
    return chosen


def chosen_pipeline() -> Pipeline:
    """The pipeline in `?pipeline=` (404 when it is not this workspace's), or the first one."""
    pipeline = pipeline_or_default(_id_arg("pipeline"))
    if pipeline is None:
        abort(404)
    return pipeline


def board_context(pipeline: Pipeline, chosen: DealFilter) -> dict:
    """What the board and its totals need."""
    stages = stages_of(pipeline)
    return {"pipeline": pipeline, "stages": stages, "filter": chosen, "filter_args": chosen.as_args(),
            "totals": stage_totals(pipeline, chosen)}


@bp.get("/")
def board():
    """The pipeline's board: one column per stage, its cards and totals, filtered by contact, tag or close month."""
    pipeline = chosen_pipeline()
    chosen = deal_filter()
    context = board_context(pipeline, chosen)
    db.session.commit()  # a workspace seen for the first time may just have got its default pipeline
    return render("deals/board.html", columns=board_columns(pipeline, context["stages"], chosen),
                  shown=CARDS_PER_COLUMN,
                  pipelines=all_pipelines(), tags=all_tags(), contacts=contacts_with_deals(pipeline), **context)


@bp.post("/<int:deal_id>/move")
def move(deal_id: int):
    """Move a card to a stage and place; htmx gets the stage totals (out of band), a plain form the board again."""
    deal = get_or_404(Deal, deal_id)
    form = MoveForm()
    form.validate()
    chosen = deal_filter()
    pipeline = db.session.scalar(select(Pipeline).where(Pipeline.id == deal.pipeline_id))
    try:
        stage = move_deal(deal, form.stage_id.data, form.position.data, user_id=current_user.id)
    except Invalid as exc:
        db.session.rollback()
        message = next(iter(exc.errors.values()))
        if is_htmx():
            return render("deals/_totals.html", status=REFUSED, message=message, ok=False,
                          **board_context(pipeline, chosen))
        flash(message, "error")
        return see_other(url_for("deals.board", pipeline=pipeline.id, **chosen.as_args()))
    db.session.commit()
    message = f"Moved “{deal.title}” to {stage.name}."
    if is_htmx():
        return render("deals/_totals.html", message=message, ok=True, **board_context(pipeline, chosen))
    flash(message, "success")
    if request.form.get("back") == "deal":
        return see_other(url_for("deals.detail", deal_id=deal.id))
    return see_other(url_for("deals.board", pipeline=pipeline.id, **chosen.as_args()) + f"#deal-{deal.id}")


def _back_url(back: str | None, deal: Deal | None, contact_id: int | None) -> str:
    if back == "inbox" and contact_id:
        return url_for("inbox.conversation", contact_id=contact_id)
    if back == "contact" and contact_id:
        return url_for("contacts.detail", contact_id=contact_id)
    if deal is not None:
        return url_for("deals.detail", deal_id=deal.id)
    return url_for("deals.board")


def _form_choices(form: DealForm, pipeline: Pipeline, contact: Contact | None, *, fixed: bool) -> None:
    """Stages of the pipeline; the contact alone when `fixed`, else the most recent contacts with `contact` first."""
    form.stage_id.choices = [(s.id, s.name) for s in stages_of(pipeline)]
    if fixed and contact is not None:
        form.contact_id.choices = [(contact.id, contact.name)]
        return
    recent = db.session.execute(select(Contact.id, Contact.name)
                                .order_by(Contact.last_message_at.desc().nulls_last(), Contact.id.desc()).limit(500))
    # The deal's own contact is always offered, even when it is not among the recent ones.
    choices = [(contact.id, contact.name)] if contact is not None else [(0, "Choose a contact…")]
    form.contact_id.choices = choices + [(i, n) for i, n in recent if contact is None or i != contact.id]


def _input(form: DealForm) -> DealInput:
    return DealInput(title=form.title.data or "", contact_id=form.contact_id.data or None,
                     stage_id=form.stage_id.data, value=form.value.data or "", currency=form.currency.data or "",
                     expected_close_on=form.expected_close_on.data)


def _refused(form: DealForm, exc: Invalid) -> None:
    db.session.rollback()
    for message in put_errors(form, exc.errors):
        flash(message, "error")


@bp.route("/new", methods=["GET", "POST"])
def new():
    """A new deal, for a contact given in `?contact_id=` (from its page or conversation) or chosen on the form."""
    pipeline = chosen_pipeline()
    contact_id = request.values.get("contact_id", type=int) if request.args.get("contact_id") else None
    contact = get_or_404(Contact, contact_id) if contact_id else None
    form = DealForm()
    _form_choices(form, pipeline, contact, fixed=True)
    if request.method == "GET":
        form.back.data = request.args.get("back") if request.args.get("back") in BACKS else "board"
        form.stage_id.data = _id_arg("stage_id") or (form.stage_id.choices[0][0] if form.stage_id.choices else None)
    if form.validate_on_submit():
        try:
            deal = create_deal(_input(form), user_id=current_user.id)
        except Invalid as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash(f"Deal “{deal.title}” added.", "success")
            return see_other(_back_url(form.back.data, deal if form.back.data in ("board", "deal") else None,
                                       deal.contact_id))
    db.session.commit()
    return render("deals/form.html", status=form_status(), form=form, deal=None, contact=contact, pipeline=pipeline)


@bp.get("/<int:deal_id>")
def detail(deal_id: int):
    """One deal: its details, stage history, tasks, notes and the way to the contact's conversation."""
    deal = get_or_404(Deal, deal_id)
    contact = get_or_404(Contact, deal.contact_id)
    stage = db.session.scalar(select(Stage).where(Stage.id == deal.stage_id))
    pipeline = db.session.scalar(select(Pipeline).where(Pipeline.id == deal.pipeline_id))
    history = history_of(deal)
    return render("deals/detail.html", deal=deal, contact=contact, stage=stage, pipeline=pipeline,
                  stages=stages_of(pipeline), history=history, tasks=tasks_of_deal(deal),
                  notes=timeline_of_deal(deal), zone=workspace_zone(), people=_people(history))


def _people(history) -> dict[int, str]:
    """Emails of the users named in a history, by id (users are read by id only, never listed)."""
    from models import User

    ids = {entry.user_id for entry in history if entry.user_id}
    return {user.id: user.email for user in (db.session.get(User, i) for i in ids)
            if user is not None and user.tenant_id == current_user.tenant_id}


@bp.route("/<int:deal_id>/edit", methods=["GET", "POST"])
def edit(deal_id: int):
    """Change a deal's title, contact, stage, value or expected close date."""
    deal = get_or_404(Deal, deal_id)
    pipeline = db.session.scalar(select(Pipeline).where(Pipeline.id == deal.pipeline_id))
    form = DealForm(obj=deal if request.method == "GET" else None)
    _form_choices(form, pipeline, get_or_404(Contact, deal.contact_id), fixed=False)
    if request.method == "GET":
        form.value.data = plain_minor(deal.value_minor, deal.currency)
        form.back.data = "deal"
    if form.validate_on_submit():
        try:
            update_deal(deal, _input(form), user_id=current_user.id)
        except Invalid as exc:
            _refused(form, exc)
        else:
            db.session.commit()
            flash("Deal saved.", "success")
            return see_other(url_for("deals.detail", deal_id=deal.id))
    return render("deals/form.html", status=form_status(), form=form, deal=deal, contact=None, pipeline=pipeline)


@bp.post("/<int:deal_id>/delete")
def delete(deal_id: int):
    """Delete a deal (the page asks first); its notes stay on the contact's timeline."""
    deal = get_or_404(Deal, deal_id)
    title, pipeline_id = deal.title, deal.pipeline_id
    delete_deal(deal)
    db.session.commit()
    flash(f"Deal “{title}” deleted.", "success")
    return see_other(url_for("deals.board", pipeline=pipeline_id))


@bp.get("/contact/<int:contact_id>/panel")
def contact_panel(contact_id: int):
    """The conversation side panel's part: the contact's open deals and a small form to add one."""
    contact = get_or_404(Contact, contact_id)
    pipeline = all_pipelines()[0]
    db.session.commit()
    return render("deals/contact_panel.html", "deals/_contact_panel.html", contact=contact,
                  deals=deals_of_contact(contact, only_open=True), stages=stages_of(pipeline), pipeline=pipeline)
