"""Contacts from and to CSV: upload, map columns, follow the import's progress and report; export the list."""
from blueprints.imports import export, views  # noqa: F401  (their routes attach to bp)
from blueprints.imports.blueprint import bp

__all__ = ["bp"]
