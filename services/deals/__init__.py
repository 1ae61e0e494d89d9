"""Deals: pipelines and stages, deals on a board, moves with their history, the list and its CSV.

Importing the package registers the segment condition "has an open deal" with services.segments.
"""
from __future__ import annotations

from sqlalchemy import select

from models import Contact, Deal
from services.deals.export import csv_lines, record_export, safe_cell
from services.deals.money import format_minor, parse_value, plain_minor
from services.deals.moves import move_deal
from services.deals.pipelines import (
    add_pipeline,
    add_stage,
    all_pipelines,
    create_default_pipeline,
    move_stage,
    pipeline_or_default,
    rename_pipeline,
    stages_of,
    update_stage,
)
from services.deals.queries import (
    CARDS_PER_COLUMN,
    SORTS,
    DealFilter,
    board_columns,
    contacts_with_deals,
    deal_rows,
    deals_of_contact,
    history_of,
    month_bounds,
    stage_totals,
)
from services.deals.records import DealInput, create_deal, delete_deal, update_deal
from services.segments import OPERATORS, Operator, register_operator

__all__ = ["CARDS_PER_COLUMN", "SORTS", "DealFilter", "DealInput", "add_pipeline", "add_stage",
           "all_pipelines", "board_columns", "contacts_with_deals", "create_deal", "create_default_pipeline",
           "csv_lines", "deal_rows", "deals_of_contact", "delete_deal", "format_minor",
           "history_of", "month_bounds", "move_deal", "move_stage", "parse_value", "pipeline_or_default", "plain_minor",
           "record_export", "rename_pipeline", "safe_cell", "stage_totals", "stages_of", "update_deal", "update_stage"]

HAS_OPEN_DEAL = "has_open_deal"


def _has_open_deal(_condition, _zone):
    # Correlated on the contact and built from a scoped SELECT, so the tenant criteria reach it.
    return select(Deal.id).where(Deal.contact_id == Contact.id, Deal.closed_at.is_(None)).exists()


if HAS_OPEN_DEAL not in OPERATORS:  # the package may be imported again under a reloader
    register_operator(HAS_OPEN_DEAL, Operator("has an open deal", (), _has_open_deal))
