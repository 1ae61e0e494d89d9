"""Fixtures the segment tests share."""
from __future__ import annotations

import pytest


@pytest.fixture
def owner(create_user):
    """The workspace owner whose contacts the filters run over."""
    return create_user()
