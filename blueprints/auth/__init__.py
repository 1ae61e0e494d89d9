"""Sign up, log in, log out."""
from blueprints.auth import reset, views  # noqa: F401  (their routes attach to bp)
from blueprints.auth.blueprint import bp

__all__ = ["bp"]
