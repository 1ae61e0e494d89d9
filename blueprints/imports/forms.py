"""Import forms: the upload, and the mapping's mode and tags (the per-column choices are read by position)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectMultipleField, widgets

from services.contact_import import MODES


class UploadForm(FlaskForm):
    """A CSV file to import."""

    file = FileField("CSV file", description="UTF-8 or Latin-1, separated by commas or semicolons, with a header "
                                             "line naming the columns.")


class StartForm(FlaskForm):
    """How the mapped file is imported."""

    mode = RadioField("Phones that are contacts already", choices=list(MODES.items()), default="create")
    tags = SelectMultipleField(
        "Add these tags to every imported contact", coerce=int, validate_choice=False,
        widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput(),
    )
