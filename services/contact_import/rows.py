"""One CSV row to a contact's values, or the reason it is refused; the mapping says which cell is which field."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from models import Contact, Tag
from services.contacts import CUSTOM_FIELD_KEY_MAX, CUSTOM_FIELD_VALUE_MAX, CUSTOM_FIELDS_MAX
from services.emails import looks_like_email
from services.phones import InvalidPhone, normalize_phone

FIELDS = ("name", "phone", "email", "tags")
CUSTOM = "custom:"
TAG_NAME_MAX = Tag.name.type.length
_TAG_SPLIT = re.compile(r"[,;|]")
_DEFUSED = ("=", "+", "-", "@")


class BadMapping(ValueError):
    """The mapping cannot import anything as it is; the message says what to change."""


@dataclass
class Plan:
    """Where each field sits in a row (column positions), read once from the mapping."""

    phone: int
    name: int | None = None
    email: int | None = None
    tags: int | None = None
    custom: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Clean:
    """A row's values as they will be stored."""

    line: int
    phone: str
    name: str
    email: str | None
    custom_fields: dict[str, str]
    tag_names: list[str]
    named: bool  # the row has a name of its own (an update then keeps the contact's name otherwise)


def plan_of(mapping: dict[str, str], columns: int) -> Plan:
    """The mapping as positions; raises BadMapping without a phone column or with a field mapped twice."""
    positions: dict[str, int] = {}
    custom: list[tuple[int, str]] = []
    for raw_position, target in sorted(mapping.items(), key=lambda item: int(item[0])):
        position = int(raw_position)
        if not target or position >= columns:
            continue
        if target.startswith(CUSTOM):
            key = target[len(CUSTOM):].strip()
            if not key or len(key) > CUSTOM_FIELD_KEY_MAX:
                raise BadMapping(f"Name each custom field (up to {CUSTOM_FIELD_KEY_MAX} characters).")
            custom.append((position, key))
        elif target in FIELDS:
            if target in positions:
                raise BadMapping(f"Two columns are mapped to {target}: choose one.")
            positions[target] = position
        else:
            raise BadMapping(f"“{target}” is not a field contacts have.")
    if "phone" not in positions:
        raise BadMapping("Choose the column that holds the phone number.")
    if len(custom) > CUSTOM_FIELDS_MAX:
        raise BadMapping(f"At most {CUSTOM_FIELDS_MAX} custom fields.")
    if len({key for _p, key in custom}) != len(custom):
        raise BadMapping("Two columns are mapped to the same custom field: choose one.")
    return Plan(custom=custom, **positions)


def _cell(cells: list[str], position: int | None) -> str:
    text = cells[position].strip() if position is not None and position < len(cells) else ""
    # Our exports (and spreadsheets) put an apostrophe before a cell that would run as a formula: take it off, so
    # an exported file imports back as it was (it is put back on the next export).
    return text[1:] if text[:1] == "'" and text[1:2] in _DEFUSED else text


class RowReader:
    """Turns rows into Clean values (or a reason); remembers phones already normalised (files repeat prefixes)."""

    def __init__(self, plan: Plan, region: str):
        self.plan, self.region = plan, region
        self._phones: dict[str, str | InvalidPhone] = {}

    def phone(self, raw: str) -> str:
        """`raw` in E.164 with the workspace's region; raises InvalidPhone."""
        known = self._phones.get(raw)
        if known is None:
            try:
                known = normalize_phone(raw, self.region)
            except InvalidPhone as exc:
                known = exc
            self._phones[raw] = known
        if isinstance(known, InvalidPhone):
            raise known
        return known

    def read(self, line: int, cells: list[str]) -> Clean | str:
        """The row's values, or why it is refused."""
        plan = self.plan
        raw_phone = _cell(cells, plan.phone)
        if not raw_phone:
            return "No phone number."
        try:
            phone = self.phone(raw_phone)
        except InvalidPhone as exc:
            return str(exc)
        name = _cell(cells, plan.name)
        if len(name) > Contact.NAME_MAX:
            return f"The name is longer than {Contact.NAME_MAX} characters."
        email = _cell(cells, plan.email).lower() or None
        if email and (len(email) > Contact.EMAIL_MAX or not looks_like_email(email)):
            return f"“{email}” is not an email address."
        custom = {}
        for position, key in plan.custom:
            value = _cell(cells, position)
            if len(value) > CUSTOM_FIELD_VALUE_MAX:
                return f"{key} is longer than {CUSTOM_FIELD_VALUE_MAX} characters."
            if value:
                custom[key] = value
        tags = [tag.strip() for tag in _TAG_SPLIT.split(_cell(cells, plan.tags)) if tag.strip()]
        if any(len(tag) > TAG_NAME_MAX for tag in tags):
            return f"A tag is longer than {TAG_NAME_MAX} characters."
        # Without a name of its own a new contact goes by its number, as the inbox shows unknown senders.
        return Clean(line=line, phone=phone, name=name or phone, email=email, custom_fields=custom,
                     tag_names=list(dict.fromkeys(tags)), named=bool(name))
