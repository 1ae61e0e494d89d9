"""Deal fixtures: a logged-in owner whose workspace has the default pipeline, and builders for deals."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import Pipeline, Stage


@pytest.fixture
def owner(create_user, login):
    user = create_user()
    login(user)
    return user


def stages(pipeline_id: int | None = None) -> list[Stage]:
    """The (first) pipeline's stages in order; call inside a tenant scope."""
    if pipeline_id is None:
        pipeline_id = db.session.scalar(select(Pipeline.id).order_by(Pipeline.position, Pipeline.id))
    return list(db.session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position)))


def make_deal(contact, stage, title: str = "Deal", value: str = "100", currency: str = "USD", **fields):
    """A deal through the service (history and position included); call inside a tenant scope."""
    from services.deals import DealInput, create_deal

    deal = create_deal(DealInput(title=title, contact_id=contact.id, stage_id=stage.id, value=value,
                                 currency=currency, **fields))
    db.session.flush()
    return deal
