"""Sign up, log in, log out."""
from blueprints.auth.views import bp  # noqa: F401
