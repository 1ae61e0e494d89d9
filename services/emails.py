"""Email address shape check shared by sign-up and contacts."""
from __future__ import annotations

import re

# Deliberately loose: the shape only; deliverability is not our business at sign-up.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(value: str) -> bool:
    """True when `value` has the shape of an email address."""
    return bool(EMAIL_PATTERN.match(value or ""))
