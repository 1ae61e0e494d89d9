"""What the segment tests share."""
from __future__ import annotations


def flt(*conditions) -> dict:
    """A segment filter of these conditions, as the editor saves it."""
    return {"version": 1, "conditions": list(conditions)}
