"""Broadcasts: one message to many contacts, with a confirm step and live progress."""
from blueprints.broadcasts import views  # noqa: F401  (its routes attach to bp)
from blueprints.broadcasts.blueprint import bp

__all__ = ["bp"]
