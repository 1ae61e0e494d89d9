"""Tags: list with counts, create, edit, delete."""
from blueprints.tags import views  # noqa: F401  (its routes attach to bp)
from blueprints.tags.blueprint import bp

__all__ = ["bp"]
