"""Segments: saved contact filters with live counts and a live preview."""
from blueprints.segments import views  # noqa: F401  (its routes attach to bp)
from blueprints.segments.blueprint import bp

__all__ = ["bp"]
