"""Settings routes."""
from __future__ import annotations

import phonenumbers
from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from blueprints.htmx import see_other
from extensions import db

bp = Blueprint("settings", __name__, url_prefix="/settings")
bp.before_request(login_required(lambda: None))


def _region_choices() -> list[tuple[str, str]]:
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    return [(r, f"{r} (+{phonenumbers.country_code_for_region(r)})") for r in regions]


class AccountForm(FlaskForm):
    """Workspace name and the region for numbers typed without a country code."""

    name = StringField("Workspace name", validators=[DataRequired(), Length(max=120)])
    default_region = SelectField("Default phone region", choices=_region_choices)


@bp.route("/", methods=["GET", "POST"])
def account():
    """Workspace settings."""
    tenant = current_user.tenant
    form = AccountForm(obj=tenant if request.method == "GET" else None)
    if form.validate_on_submit():
        tenant.name = form.name.data.strip()
        tenant.default_region = form.default_region.data
        db.session.commit()
        flash("Settings saved.", "success")
        return see_other(url_for("settings.account"))
    status = 400 if request.method == "POST" else 200
    return render_template("settings/account.html", form=form), status
