"""The workspace's own settings: its name, phone region, opt-out keywords and history limits."""
from __future__ import annotations

from dataclasses import dataclass

from extensions import db
from models import Tenant
from services.errors import Invalid
from services.optout import parse_keywords


@dataclass
class WorkspaceSettings:
    """What the settings form carries, already checked field by field."""

    name: str
    default_region: str
    opt_out_keywords: str
    opt_in_keywords: str
    retention_days: int
    retention_max_messages: int


def save_settings(tenant: Tenant, settings: WorkspaceSettings) -> None:
    """Store the settings on `tenant`, keyword lists normalised (flushes; the caller commits)."""
    # A word cannot both stop and restart messages.
    both = set(parse_keywords(settings.opt_out_keywords)) & set(parse_keywords(settings.opt_in_keywords))
    if both:
        raise Invalid({"opt_in_keywords": f"These words are in both lists: {', '.join(sorted(both))}."})
    tenant.name = settings.name.strip()
    tenant.default_region = settings.default_region
    tenant.opt_out_keywords = ", ".join(parse_keywords(settings.opt_out_keywords))
    tenant.opt_in_keywords = ", ".join(parse_keywords(settings.opt_in_keywords))
    tenant.retention_days = settings.retention_days
    tenant.retention_max_messages = settings.retention_max_messages
    db.session.flush()
