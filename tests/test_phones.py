"""Phone normalisation: the shortcut for numbers written in E.164 gives exactly what the full parser gives."""
from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from services import phones
from services.phones import InvalidPhone, normalize_phone


def _international_numbers() -> list[str]:
    """Numbers in E.164 shape for every country code: each type's example, the same with a national prefix or a
    leading zero after the country code, and random digits of every length (most of them invalid)."""
    rng = random.Random(20240611)
    found: set[str] = set()
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
                         PhoneNumberType.PREMIUM_RATE, PhoneNumberType.VOIP, PhoneNumberType.UAN):
                example = (phonenumbers.example_number_for_type(region, kind) if region != "001"
                           else phonenumbers.example_number_for_non_geo_entity(code))
                if example is None:
                    continue
                national = phonenumbers.national_significant_number(example)
                metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
                prefixes = {"0", "00", "1", "8", "9", (metadata.national_prefix or "") if metadata else ""}
                found.add(f"+{code}{national}")
                found.update(f"+{code}{prefix}{national}" for prefix in prefixes)
                found.add(f"+{code}{national[:-1]}")
                found.add(f"+{code}{national}0")
        for length in range(18):
            for _ in range(3):
                found.add(f"+{code}" + "".join(rng.choice("0123456789") for _ in range(length)))
    found.update(f"+{digits}" for digits in ("000", "0123456", "999", "123", "1234", "12", "1"))
    return sorted(found)


NUMBERS = _international_numbers()


def _outcome(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except (phonenumbers.NumberParseException, InvalidPhone) as exc:
        return type(exc).__name__, getattr(exc, "error_type", None), str(exc)


def test_the_shortcut_parses_every_international_number_as_the_library_does():
    assert len(NUMBERS) > 10_000
    shortcut_taken = 0
    for text in NUMBERS:
        expected = _outcome(phonenumbers.parse, text, None)
        assert _outcome(phones._parse, text, None) == expected, text
        shortcut_taken += phones._parse_international(text) is not None
    assert shortcut_taken > len(NUMBERS) * 0.9  # the shortcut is what most of them went through


def test_validity_is_the_library_s_for_every_number_of_every_calling_code():
    parsed = (_outcome(phonenumbers.parse, text, None) for text in NUMBERS)
    numbers = [number for number in parsed if isinstance(number, phonenumbers.PhoneNumber)]
    shared = [n for n in numbers if len(COUNTRY_CODE_TO_REGION_CODE[n.country_code]) > 1]
    assert len(shared) > 1000 and any(phonenumbers.is_valid_number(n) for n in shared)
    assert [phones._is_valid(n) for n in numbers] == [phonenumbers.is_valid_number(n) for n in numbers]


@pytest.mark.parametrize("strict", [True, False])
def test_normalised_numbers_and_refusals_are_the_same_with_and_without_the_shortcut(monkeypatch, strict):
    with_shortcut = [_outcome(normalize_phone, text, "US", strict=strict) for text in NUMBERS]
    assert sum(isinstance(result, str) for result in with_shortcut) > 1000  # valid ones among them
    monkeypatch.setattr(phones, "_parse_international", lambda _text: None)
    monkeypatch.setattr(phones, "_is_valid", phonenumbers.is_valid_number)
    assert [_outcome(normalize_phone, text, "US", strict=strict) for text in NUMBERS] == with_shortcut


def test_numbers_outside_the_shortcut_still_parse():
    assert normalize_phone("00 44 20 7946 0958") == "+442079460958"
    assert normalize_phone("(415) 555-0100 ext. 7", "US") == "+14155550100"
    assert normalize_phone("+39 06 698 1234") == "+39066981234"  # Italian leading zero kept
    with pytest.raises(InvalidPhone, match="is not a phone number"):
        normalize_phone("+999123456")
    with pytest.raises(InvalidPhone, match="not a valid phone number for its country"):
        normalize_phone("+14150000000")
