"""Phone numbers in E.164."""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import phonenumberutil
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.re_util import re_compile

# The library compiles each pattern of its metadata on every use unless told to keep them; the re module's own
# cache (512 patterns) is too small for the metadata of many countries. Same patterns, a third less time.
phonenumbers.enable_pattern_cache()
# "+" and ASCII digits only, as numbers in E.164 are written: most numbers stored, exported and imported.
_INTERNATIONAL = re.compile(r"\+[0-9]{3,17}")
# Lengths after which the library keeps the number as it was rather than strip a national prefix from it.
_KEEP_UNSTRIPPED = (phonenumberutil.ValidationResult.TOO_SHORT, phonenumberutil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                    phonenumberutil.ValidationResult.INVALID_LENGTH)


class InvalidPhone(ValueError):
    """The text is not a valid phone number."""


def _parse_international(text: str) -> phonenumbers.PhoneNumber | None:
    """What phonenumbers.parse(text, None) gives for "+" and digits, or None where it would raise.

    parse() first looks for extensions, letters, punctuation, a second number and Unicode digits, which plain
    "+" and ASCII digits do not have; for them it takes the country code, strips a national prefix as the
    country's metadata says, and notes Italian leading zeros. This does those last steps alone, with the
    library's own functions, at half the cost: an import validates every row's number. tests/test_phones.py
    compares the two over every country code.
    """
    country_code, national = phonenumberutil._extract_country_code(text[1:])
    if country_code == 0:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumberutil.region_code_for_country_code(country_code))
    if metadata is None or len(national) < phonenumberutil._MIN_LENGTH_FOR_NSN:
        return None
    _carrier, stripped, _ = phonenumberutil._maybe_strip_national_prefix_carrier_code(national, metadata)
    if phonenumberutil._test_number_length(stripped, metadata) not in _KEEP_UNSTRIPPED:
        national = stripped
    if not phonenumberutil._MIN_LENGTH_FOR_NSN <= len(national) <= phonenumberutil._MAX_LENGTH_FOR_NSN:
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code)
    phonenumberutil._set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def _is_valid(number: phonenumbers.PhoneNumber) -> bool:
    """phonenumbers.is_valid_number(number), without checking the number against its region's types twice.

    For a calling code shared by several regions (+1, +7, +44…) the library finds the region by checking the
    number against each one's types, then checks it against the region found all over again. A region found
    that way is valid by that first check, so this stops there; anything else goes to the library as before.
    """
    regions = phonenumberutil.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code)
    if not regions or len(regions) == 1:
        return phonenumbers.is_valid_number(number)
    national = phonenumbers.national_significant_number(number)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re_compile(metadata.leading_digits).match(national):
                return phonenumbers.is_valid_number_for_region(number, region)
        elif phonenumberutil._number_type_helper(national, metadata) != phonenumbers.PhoneNumberType.UNKNOWN:
            return True
    return False


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber:
    """phonenumbers.parse(text, region), quicker for numbers written in E.164; raises NumberParseException."""
    number = _parse_international(text) if region is None and _INTERNATIONAL.fullmatch(text) else None
    return number if number is not None else phonenumbers.parse(text, region)


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
        number = _parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"“{raw}” is not a phone number.") from exc
    valid = _is_valid(number) if strict else phonenumbers.is_possible_number(number)
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
