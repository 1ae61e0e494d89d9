"""Tag routes: thin; rules and counts live in services.tags."""
from __future__ import annotations

from flask import flash, request, url_for

from blueprints.common import form_status, get_or_404, put_errors
from blueprints.htmx import render, see_other
from blueprints.tags.blueprint import bp
from blueprints.tags.forms import TagForm
from extensions import db
from models import Tag
from services.errors import Invalid
from services.tags import delete_tag, save_tag, tags_with_counts


def _save(form: TagForm, tag: Tag | None) -> Tag | None:
    """Validate and save; on failure the messages land on the form's fields."""
    if not form.validate_on_submit():
        return None
    try:
        saved = save_tag(form.name.data, form.color.data, tag)
    except Invalid as exc:
        db.session.rollback()
        put_errors(form, exc.errors)
        return None
    db.session.commit()
    return saved


@bp.route("/", methods=["GET", "POST"])
def index():
    """All tags with contact counts, and the form to add one."""
    form = TagForm()
    tag = _save(form, None)
    if tag is not None:
        flash(f"Tag {tag.name} created.", "success")
        return see_other(url_for("tags.index"))
    return render("tags/index.html", status=form_status(), form=form, rows=tags_with_counts())


@bp.route("/<int:tag_id>/edit", methods=["GET", "POST"])
def edit(tag_id: int):
    """Rename or recolour a tag."""
    tag = get_or_404(Tag, tag_id)
    form = TagForm(obj=tag if request.method == "GET" else None)
    if _save(form, tag) is not None:
        flash("Tag saved.", "success")
        return see_other(url_for("tags.index"))
    return render("tags/edit.html", status=form_status(), form=form, tag=tag)


@bp.post("/<int:tag_id>/delete")
def delete(tag_id: int):
    """Delete a tag; contacts keep everything else."""
    tag = get_or_404(Tag, tag_id)
    name = tag.name
    delete_tag(tag)
    db.session.commit()
    flash(f"Tag {name} deleted.", "success")
    return see_other(url_for("tags.index"))
