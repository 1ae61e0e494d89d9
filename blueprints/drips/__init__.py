"""Drip sequences: sequences and their steps, enrolments, enrolling from contacts."""
from blueprints.drips import enrolments, views  # noqa: F401  (their routes attach to bp)
from blueprints.drips.blueprint import bp

__all__ = ["bp"]
