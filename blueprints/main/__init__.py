"""The home route."""
from blueprints.main import views  # noqa: F401  (its routes attach to bp)
from blueprints.main.blueprint import bp

__all__ = ["bp"]
