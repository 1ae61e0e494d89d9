"""Tasks: "My tasks" (overdue, today, upcoming), adding tasks to a contact or a deal, marking them done."""
from blueprints.tasks import views  # noqa: F401  (its routes attach to bp)
from blueprints.tasks.blueprint import bp

__all__ = ["bp"]
