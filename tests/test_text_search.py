"""The literal LIKE pattern used by every search box."""
from __future__ import annotations

from services.text_search import contains_pattern


def test_wildcards_and_the_escape_character_are_escaped():
    assert contains_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_plain_text_is_wrapped_only():
    assert contains_pattern("greta") == "%greta%"
