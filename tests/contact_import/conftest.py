"""Import fixtures: a workspace owner."""
from __future__ import annotations

import pytest


@pytest.fixture
def owner(create_user):
    return create_user()
