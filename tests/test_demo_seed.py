"""The demo workspace `flask seed-demo` creates."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Tag, User
from models.tenancy import tenant_scope


def test_demo_tags_each_get_their_own_colour(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "demo@messagehub.local"))
        with tenant_scope(user.tenant_id):
            colours = {tag.name: tag.color for tag in db.session.scalars(select(Tag))}
    assert len(colours) == 4
    assert len(set(colours.values())) == len(colours), colours
