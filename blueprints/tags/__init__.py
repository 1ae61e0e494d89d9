"""Tags: list with counts, create, edit, delete."""
from blueprints.tags.views import bp  # noqa: F401
