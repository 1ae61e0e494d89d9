"""Notes: adding entries to a contact's timeline (optionally about a deal) and removing them."""
from blueprints.notes import views  # noqa: F401  (its routes attach to bp)
from blueprints.notes.blueprint import bp

__all__ = ["bp"]
