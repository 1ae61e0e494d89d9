"""Deals: the board with drag and drop and "Move to…", the list and its CSV, deal pages and pipeline settings."""
from blueprints.deals import listing, pipelines, views  # noqa: F401  (their routes attach to bp)
from blueprints.deals.blueprint import bp

__all__ = ["bp"]
