"""Enrolment routes: a sequence's enrolments, stop and restart by hand, enrol from contacts."""
from __future__ import annotations

from flask import flash, request, url_for
from sqlalchemy import select

from blueprints.common import get_or_404
from blueprints.drips.blueprint import bp
from blueprints.htmx import render, see_other
from extensions import db
from models import Contact, DripEnrolment, DripSequence
from services.drips import enrol, enrol_selection, enrol_tagged, figures, restart, stop
from services.errors import Invalid
from services.workspace import workspace_zone

STATES = ("active", "completed", "stopped")


def _message(exc: Invalid) -> str:
    return next(iter(exc.errors.values()))


@bp.get("/<int:sequence_id>/enrolments")
def enrolments(sequence_id: int):
    """Each contact's state (with the reason), current step and next send time in the workspace's zone."""
    sequence = get_or_404(DripSequence, sequence_id)
    state = request.args.get("state") if request.args.get("state") in STATES else None
    steps = figures.steps_of([sequence.id])[sequence.id]
    return render("drips/enrolments.html", sequence=sequence, rows=figures.enrolments(sequence, state), state=state,
                  counts=figures.state_counts([sequence.id])[sequence.id], zone=workspace_zone(),
                  positions={s.id: n for n, s in enumerate(steps, 1)}, step_count=len(steps))


@bp.post("/<int:sequence_id>/enrol-tagged")
def enrol_everyone_tagged(sequence_id: int):
    """Enrol every contact who already has the sequence's tag (and may be enrolled)."""
    sequence = get_or_404(DripSequence, sequence_id)
    try:
        count = enrol_tagged(sequence)
    except Invalid as exc:
        db.session.rollback()
        flash(_message(exc), "error")
    else:
        db.session.commit()
        flash(f"{count} contact{'s' if count != 1 else ''} enrolled.", "success")
    return see_other(url_for("drips.enrolments", sequence_id=sequence.id))


def _enrolment_action(enrolment_id: int, action, done: str):
    enrolment = get_or_404(DripEnrolment, enrolment_id)
    try:
        action(enrolment)
    except Invalid as exc:
        db.session.rollback()
        flash(_message(exc), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return see_other(url_for("drips.enrolments", sequence_id=enrolment.sequence_id))


@bp.post("/enrolments/<int:enrolment_id>/stop")
def stop_enrolment(enrolment_id: int):
    """Stop an active enrolment by hand."""
    return _enrolment_action(enrolment_id, stop, "Enrolment stopped.")


@bp.post("/enrolments/<int:enrolment_id>/restart")
def restart_enrolment(enrolment_id: int):
    """Restart a stopped or completed enrolment with the steps the contact has not had, timed from now."""
    return _enrolment_action(enrolment_id, restart, "Enrolment restarted.")


def _sequence_from_form() -> DripSequence | None:
    raw = request.form.get("sequence_id", "")
    return db.session.scalar(select(DripSequence).where(DripSequence.id == int(raw))) if raw.isdigit() else None


@bp.route("/enrol/<int:contact_id>", methods=["GET", "POST"])
def enrol_contact(contact_id: int):
    """A contact's sequences, and enrolling them in one by hand."""
    contact = get_or_404(Contact, contact_id)
    if request.method == "POST":
        sequence = _sequence_from_form()
        try:
            if sequence is None:
                raise Invalid({"sequence_id": "Choose one of your sequences."})
            enrol(contact, sequence, source="manual")
        except Invalid as exc:
            db.session.rollback()
            flash(_message(exc), "error")
        else:
            db.session.commit()
            flash(f"{contact.name} enrolled in {sequence.name}.", "success")
        return see_other(url_for("drips.enrol_contact", contact_id=contact.id))
    return render("drips/contact.html", contact=contact, rows=figures.of_contact(contact),
                  sequences=figures.sequences(), zone=workspace_zone())


@bp.post("/enrol-selection")
def enrol_chosen():
    """Enrol the contacts chosen on the contacts list in one sequence."""
    sequence = _sequence_from_form()
    ids = [int(v) for v in request.form.getlist("contact_ids") if v.isdigit()]
    back = url_for("contacts.index")
    if sequence is None or not ids:
        flash("Choose contacts and a sequence.", "error")
        return see_other(back)
    enrolled, refused = enrol_selection(ids, sequence)
    db.session.commit()
    flash(f"{enrolled} contact{'s' if enrolled != 1 else ''} enrolled in {sequence.name}.", "success")
    for reason in refused[:5]:
        flash(reason, "info")
    return see_other(back)
