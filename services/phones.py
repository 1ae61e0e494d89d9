"""Phone numbers in E.164."""
from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    """The text is not a valid phone number."""


def normalize_phone(raw: str, default_region: str = "US", *, strict: bool = True) -> str:
    """Return `raw` in E.164 (+15551234567); numbers without a country code use `default_region`.

    `strict=False` accepts any number of a possible length: for ids WhatsApp itself vouches for,
    where a stale numbering-plan table must not make us drop a customer's message.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Enter a phone number.")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"“{raw}” is not a phone number.") from exc
    valid = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    if not valid:
        raise InvalidPhone(f"“{raw}” is not a valid phone number for its country.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(number: str | None) -> str:
    """International format for display ("+1 555-010-0999"); digits stored without a plus get one first."""
    text = (number or "").strip()
    if not text:
        return ""
    # Providers report numbers as bare digits ("15550100999"); they are international without the plus.
    candidate = "+" + text if text.isdigit() else text
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
