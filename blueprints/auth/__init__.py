"""Sign up, log in, log out."""
from blueprints.auth import views  # noqa: F401  (its routes attach to bp)
from blueprints.auth.blueprint import bp

__all__ = ["bp"]
