"""Workflows: the list, the editor with its step builder, run logs, the dry run and presets."""
from blueprints.workflows import editor, views  # noqa: F401  (their routes attach to bp)
from blueprints.workflows.blueprint import bp

__all__ = ["bp"]
