"""Analytics of the workspace: messages over time, response rate, opt-outs and broadcasts, for a date range."""
from __future__ import annotations

from flask import request

from blueprints.analytics.blueprint import bp
from blueprints.analytics.forms import RangeForm
from blueprints.common import put_errors
from blueprints.htmx import REFUSED, render
from services.analytics import (
    broadcast_performance,
    date_range,
    messages_over_time,
    opt_outs,
)
from services.deals.analytics import pipeline_value_by_stage, won_value
from services.errors import Invalid
from services.response_times import responsiveness, rolled_up


def analytics_context(form: RangeForm, *, platform: bool = False) -> tuple[dict, int]:
    """The page's figures for the form's range (in the scope the caller is in), and the status to answer.

    Platform-wide, the value by stage is left out: stages are each workspace's own, their names mean nothing
    added together; and messages per day come from the usage rollup, since counting every workspace's
    messages per view grows with the platform. Response figures come from the rollup in both.
    """
    try:
        span = date_range(form.since.data, form.until.data) if form.validate() else None
    except Invalid as exc:
        put_errors(form, exc.errors)
        span = None
    if span is None:
        return {"form": form, "span": None}, REFUSED
    messages, responses = rolled_up(span) if platform else (messages_over_time(span), responsiveness(span))
    return {"form": form, "span": span, "messages": messages, "opt_outs": opt_outs(span),
            "broadcasts": broadcast_performance(span), "won": won_value(span),
            "stages": None if platform else pipeline_value_by_stage(), "responses": responses}, 200


@bp.get("/")
def index():
    """The workspace's analytics for the chosen range (the last 30 days by default)."""
    context, status = analytics_context(RangeForm(request.args))
    return render("analytics/index.html", status=status, endpoint="analytics.index", **context)
