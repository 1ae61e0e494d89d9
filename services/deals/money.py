"""Deal values: typed amounts to whole minor units of a currency, and back for display."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from services.errors import Invalid

# ISO 4217 currencies with no minor unit; every other code is read with two decimals.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
VALUE_MAX = 10**15  # in minor units: far above any deal, far below BIGINT


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit."""
    return 0 if currency in ZERO_DECIMAL else 2


def clean_currency(code: str | None) -> str:
    """An upper-case three-letter code, or Invalid on `currency`."""
    clean = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", clean):
        raise Invalid({"currency": "Enter a three-letter currency code, like USD or EUR."})
    return clean


def parse_value(text: str | None, currency: str) -> int:
    """'1,234.50' in `currency` -> 123450 minor units; blank is 0; Invalid on `value` otherwise."""
    raw = (text or "").strip().replace(",", "").replace(" ", "")
    if not raw:
        return 0
    places = exponent(currency)
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise Invalid({"value": "Enter the value as a number, like 1500 or 1500.50."}) from None
    if not amount.is_finite() or amount < 0:
        raise Invalid({"value": "Enter a value of zero or more."})
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        raise Invalid({"value": f"{currency} takes at most {places} decimal places."})
    if minor >= VALUE_MAX:
        raise Invalid({"value": "That value is too large."})
    return int(minor)


def format_minor(value_minor: int, currency: str, *, code: bool = True) -> str:
    """123450, 'USD' -> 'USD 1,234.50' (or '1,234.50' without the code)."""
    places = exponent(currency)
    amount = Decimal(value_minor).scaleb(-places)
    text = f"{amount:,.{places}f}"
    return f"{currency} {text}" if code else text


def plain_minor(value_minor: int, currency: str) -> str:
    """123450, 'USD' -> '1234.50': for forms and CSV, without grouping."""
    places = exponent(currency)
    return f"{Decimal(value_minor).scaleb(-places):.{places}f}"
