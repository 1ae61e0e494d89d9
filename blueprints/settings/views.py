"""Settings routes."""
from __future__ import annotations

import phonenumbers
from flask import Blueprint, flash, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError

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
    opt_out_keywords = TextAreaField("Opt-out keywords", validators=[Length(max=2000)],
                                     description="Comma-separated. A customer who sends one of these stops receiving "
                                                 "broadcasts and automated messages.")
    opt_in_keywords = TextAreaField("Opt-in keywords", validators=[Length(max=2000)],
                                    description="Comma-separated. Sending one of these subscribes the customer again.")
    retention_days = IntegerField("Keep messages for (days)", validators=[NumberRange(1, 3650)])
    retention_max_messages = IntegerField("Keep at most (messages)", validators=[NumberRange(100, 10_000_000)])

    def validate_opt_in_keywords(self, field):
        """A word cannot both stop and restart messages."""
        from services.optout import parse_keywords

        both = set(parse_keywords(field.data)) & set(parse_keywords(self.opt_out_keywords.data))
        if both:
            raise ValidationError(f"These words are in both lists: {', '.join(sorted(both))}.")


@bp.route("/", methods=["GET", "POST"])
def account():
    """Workspace settings."""
    tenant = current_user.tenant
    form = AccountForm(obj=tenant if request.method == "GET" else None)
    if form.validate_on_submit():
        from services.optout import parse_keywords

        tenant.name = form.name.data.strip()
        tenant.default_region = form.default_region.data
        tenant.opt_out_keywords = ", ".join(parse_keywords(form.opt_out_keywords.data))
        tenant.opt_in_keywords = ", ".join(parse_keywords(form.opt_in_keywords.data))
        tenant.retention_days = form.retention_days.data
        tenant.retention_max_messages = form.retention_max_messages.data
        db.session.commit()
        flash("Settings saved.", "success")
        return see_other(url_for("settings.account"))
    status = 400 if request.method == "POST" else 200
    return render_template("settings/account.html", form=form), status
