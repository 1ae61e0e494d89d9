"""Analytics: the workspace's figures and charts."""
from blueprints.analytics import views  # noqa: F401  (its routes attach to bp)
from blueprints.analytics.blueprint import bp

__all__ = ["bp"]
