"""Segment form: a name and one row per condition; the rules live in services.segments."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectField, SelectMultipleField, StringField

from services.segments import OPERATORS, empty_definition

INPUTS = ("tags", "text", "key", "date", "days")
# What a row whose condition is chosen still lacks, by its first empty input: the live preview asks for it
# instead of refusing, since the page previews as soon as a condition is picked, before its inputs are filled.
STILL_NEEDED = {"tags": "choose a tag", "text": "type the text", "key": "type the custom field's name",
                "date": "pick a date", "days": "type a number of days"}


class ConditionForm(Form):
    """One condition row; only the inputs its operator reads are used (the others may stay filled)."""

    op = SelectField("Condition", validate_choice=False)
    tags = SelectMultipleField("Tags", validate_choice=False)
    text = StringField("Text or value")
    key = StringField("Custom field")
    date = StringField("Date")
    days = StringField("Days")


class SegmentForm(FlaskForm):
    """Create or edit a segment."""

    name = StringField("Name")
    conditions = FieldList(FormField(ConditionForm), min_entries=1, max_entries=40)


def operator_choices() -> list[tuple]:
    """The operator picker; each option says which inputs it reads, so the page shows only those."""
    return [("", "Choose a condition…", {"data-inputs": ""}),
            *((name, op.label, {"data-inputs": " ".join(op.inputs)}) for name, op in OPERATORS.items())]


def inputs_of(op: str | None) -> tuple[str, ...]:
    """The inputs operator `op` reads (none for an unknown or empty choice)."""
    operator = OPERATORS.get(op or "")
    return operator.inputs if operator else ()


def prepare(form: SegmentForm, tags) -> SegmentForm:
    """Fill each row's pickers (operators and the tenant's tags)."""
    for entry in form.conditions:
        fill_choices(entry.form, tags)
    return form


def fill_choices(row: ConditionForm, tags) -> None:
    row.op.choices = operator_choices()
    row.tags.choices = [(str(tag.id), tag.name) for tag in tags]


def blank_row(tags) -> ConditionForm:
    """The row the page copies when a condition is added in the browser (`__i__` is its index)."""
    row = ConditionForm(prefix="conditions-__i__-")
    fill_choices(row, tags)
    return row


def form_data(name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """Initial form data from a saved segment (tag ids as the strings the picker compares)."""
    rows = [{**c, "tags": [str(t) for t in c.get("tags", [])]} for c in definition.get("conditions", [])]
    return {"name": name, "conditions": rows or [{}]}


def row_index(entry) -> str:
    """The index in a row's field names ("conditions-3" -> "3"), which add/remove buttons carry."""
    return entry.name.rsplit("-", 1)[1]


def still_needed(row: ConditionForm) -> str | None:
    """What a row with a chosen condition still lacks (its first empty input), or None once each is filled."""
    for name in inputs_of(row.op.data):
        value = row[name].data
        if not (value if isinstance(value, list) else str(value or "").strip()):
            return STILL_NEEDED[name]
    return None


def preview_definition(form: SegmentForm) -> tuple[dict[str, Any], list[tuple[int, ConditionForm]], list[str]]:
    """definition_from for a preview: rows still being filled in are left out, each with a hint of what to fill."""
    hints, skip = [], set()
    for number, entry in enumerate(form.conditions, start=1):
        needed = still_needed(entry.form)
        if needed:
            hints.append(f"Condition {number}: {needed} to include it.")
            skip.add(number)
    definition, used = definition_from(form, skip=skip)
    return definition, used, hints


def definition_from(form: SegmentForm, skip: set[int] | frozenset[int] = frozenset()
                    ) -> tuple[dict[str, Any], list[tuple[int, ConditionForm]]]:
    """The filter a form describes, and (row number, row) of the rows it used (rows without a condition, and
    the row numbers in `skip`, are left out)."""
    definition = empty_definition()
    used = []
    for number, entry in enumerate(form.conditions, start=1):
        row = entry.form
        op = row.op.data or ""
        if not op or number in skip:
            continue
        operator = OPERATORS.get(op)
        inputs = operator.inputs if operator else ()
        definition["conditions"].append({"op": op, **{name: row[name].data for name in inputs}})
        used.append((number, row))
    return definition, used


def put_errors(form: SegmentForm, used: list[tuple[int, ConditionForm]], errors: dict[str, str]) -> list[str]:
    """Show a service's messages on the fields they name; returns them as sentences for the preview."""
    sentences = []
    for key, message in errors.items():
        parts = key.split("-")  # "conditions-<position>-<input>" from services.segments
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(used) and parts[2] in ("op", *INPUTS):
            number, row = used[int(parts[1])]
            _add_error(row[parts[2]], message)
            sentences.append(f"Condition {number}: {message}")
            continue
        if key == "name":
            _add_error(form.name, message)
        sentences.append(message)
    return sentences


def _add_error(field, message: str) -> None:
    # Saving and the preview may both report the same message for one field: show it once.
    if message not in field.errors:
        field.errors = [*field.errors, message]
