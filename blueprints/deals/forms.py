"""Deal, pipeline and stage forms: fields only; the rules live in services.deals."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Optional

from models import StageOutcome

OUTCOMES = [(StageOutcome.OPEN.value, "Open"), (StageOutcome.WON.value, "Won"), (StageOutcome.LOST.value, "Lost")]


class DealForm(FlaskForm):
    """A deal's details; `contact_id` is fixed when the deal is started from a contact or a conversation."""

    title = StringField("Title")
    contact_id = SelectField("Contact", coerce=int, validate_choice=False)
    stage_id = SelectField("Stage", coerce=int, validate_choice=False)
    value = StringField("Value", description="In the currency below, like 1500 or 1500.50.")
    currency = StringField("Currency", default="USD")
    expected_close_on = DateField("Expected close", validators=[Optional()])
    back = HiddenField()


class MoveForm(FlaskForm):
    """A move from the board: the stage, and the place in its column (blank: at the end)."""

    stage_id = IntegerField("Stage", validators=[Optional()])
    position = IntegerField("Position", validators=[Optional()])


class PipelineForm(FlaskForm):
    """A pipeline's name."""

    name = StringField("Name")


class StageForm(FlaskForm):
    """A stage's name and whether it is open, won or lost."""

    name = StringField("Name")
    outcome = SelectField("Outcome", choices=OUTCOMES, validate_choice=False)
