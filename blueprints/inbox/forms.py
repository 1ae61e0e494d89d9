"""Inbox forms: the reply box, template sends and quick replies."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from models import QuickReply

SHORTCUT_PATTERN = r"^[A-Za-z0-9_-]+$"


class ReplyForm(FlaskForm):
    """Free text with an optional image or document; the send rules live in services.outbox."""

    body = TextAreaField("Message")
    attachment = FileField("Attach an image or document")


class TemplateSendForm(FlaskForm):
    """Which template to send; its variable values arrive as `value_<n>` fields."""

    template_id = IntegerField("Template")


def _strip_slash(value: str | None) -> str:
    """People type the shortcut the way they use it ("/thanks"); it is stored without the slash."""
    return (value or "").strip().lstrip("/").strip()


class QuickReplyForm(FlaskForm):
    """Create or edit a quick reply."""

    shortcut = StringField(
        "Shortcut", filters=[_strip_slash],
        description="Type /shortcut in the reply box to insert it. Letters, digits, - and _ only.",
        validators=[DataRequired("Enter a shortcut."),
                    Length(max=QuickReply.SHORTCUT_MAX,
                           message=f"Keep the shortcut to {QuickReply.SHORTCUT_MAX} characters or fewer."),
                    Regexp(SHORTCUT_PATTERN, message="Use only letters, digits, - and _ in the shortcut.")])
    body = TextAreaField(
        "Text", filters=[lambda value: (value or "").strip()],
        validators=[DataRequired("Write the text to insert."),
                    Length(max=QuickReply.BODY_MAX,
                           message=f"Quick replies can have at most {QuickReply.BODY_MAX} characters.")])


class NewContactForm(FlaskForm):
    """A new contact to start a conversation with; services.contacts checks the name and normalises the phone."""

    name = StringField("Name")
    phone = StringField("Phone")
