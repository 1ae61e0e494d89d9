"""Tag routes."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for
from flask_login import login_required

from blueprints.common import get_or_404, put_errors
from blueprints.htmx import see_other
from blueprints.tags.forms import TagForm
from extensions import db
from models import Tag
from services.tags import TagInvalid, save_tag, tags_with_counts

bp = Blueprint("tags", __name__, url_prefix="/tags")
bp.before_request(login_required(lambda: None))


def _apply(form: TagForm, tag: Tag | None) -> Tag | None:
    """Validate and save; on failure the messages land on the form's fields."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save_tag(form.name.data, form.color.data, tag)
    except TagInvalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return None
    db.session.commit()
    return saved


@bp.route("/", methods=["GET", "POST"])
def index():
    """All tags with contact counts, and the form to add one."""
    form = TagForm()
    tag = _apply(form, None)
    if tag is not None:
        flash(f"Tag {tag.name} created.", "success")
        return see_other(url_for("tags.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("tags/index.html", form=form, rows=tags_with_counts()), status


@bp.route("/<int:tag_id>/edit", methods=["GET", "POST"])
def edit(tag_id: int):
    """Rename or recolour a tag."""
    tag = get_or_404(Tag, tag_id)
    form = TagForm(obj=tag if request.method == "GET" else None)
    if _apply(form, tag) is not None:
        flash("Tag saved.", "success")
        return see_other(url_for("tags.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("tags/edit.html", form=form, tag=tag), status


@bp.post("/<int:tag_id>/delete")
def delete(tag_id: int):
    """Delete a tag; contacts keep everything else."""
    tag = get_or_404(Tag, tag_id)
    name = tag.name
    db.session.delete(tag)
    db.session.commit()
    flash(f"Tag {name} deleted.", "success")
    return see_other(url_for("tags.index"))
