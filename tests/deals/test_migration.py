"""Migration 0013 on a database of its own, on SQLite and PostgreSQL alike: existing workspaces get the default
pipeline, and each contact's old notes field becomes the first entry of its timeline, in its own workspace."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from extensions import db

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
BEFORE = "0013-1"  # the revision this migration follows, however the chain is renumbered
STAGES = [("New", "open", 0), ("Qualified", "open", 1), ("Proposal", "open", 2), ("Won", "won", 3), ("Lost", "lost", 4)]


@pytest.fixture
def scratch_url(owner_engine, tmp_path):
    """An empty database for this test alone: a SQLite file, or a PostgreSQL database created beside the suite's."""
    if owner_engine.dialect.name != "postgresql":
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    name = f"{owner_engine.url.database}_migration"
    admin = owner_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield owner_engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _insert(conn, table: str, **values) -> int:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    return conn.execute(reflected.insert().values(**values).returning(reflected.c.id)).scalar_one()


def test_workspaces_get_the_default_pipeline_and_notes_become_the_first_timeline_entry(base_config, scratch_url):
    app = create_app({**base_config, "SQLALCHEMY_DATABASE_URI": scratch_url})
    when = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
    stamps = {"created_at": when, "updated_at": when}
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.begin() as conn:
            tenants = [_insert(conn, "tenants", name=f"W{i}", status="active", default_region="US",
                               time_zone="UTC", opt_out_keywords="STOP", opt_in_keywords="START",
                               retention_days=365, retention_max_messages=1000, **stamps) for i in (1, 2)]
            contact = {"custom_fields": {}, "opted_out": False, "conversation_status": "open", **stamps}
            noted = _insert(conn, "contacts", tenant_id=tenants[1], name="Ana", phone="+14155550001",
                            notes="Met at the fair.\nWants a demo.", **contact)
            _insert(conn, "contacts", tenant_id=tenants[0], name="Bob", phone="+14155550002", notes=None, **contact)
            _insert(conn, "contacts", tenant_id=tenants[0], name="Cid", phone="+14155550003", notes="  \n ", **contact)
        upgrade(directory=MIGRATIONS, revision="heads")
        with db.engine.connect() as conn:
            notes = conn.execute(sa.text("SELECT tenant_id, contact_id, deal_id, body, author_id, created_at "
                                         "FROM notes")).all()
            assert len(notes) == 1
            tenant_id, contact_id, deal_id, body, author_id, created_at = notes[0]
            assert (tenant_id, contact_id, deal_id, body, author_id) == (tenants[1], noted, None,
                                                                          "Met at the fair.\nWants a demo.", None)
            assert str(created_at).startswith("2025-06-01 09:30")
            pipelines = conn.execute(sa.text("SELECT tenant_id, id, name FROM pipelines ORDER BY tenant_id")).all()
            assert [(t, name) for t, _id, name in pipelines] == [(tenants[0], "Sales"), (tenants[1], "Sales")]
            for tenant, pipeline_id, _name in pipelines:
                stages = conn.execute(sa.text("SELECT name, outcome, position, tenant_id FROM pipeline_stages "
                                              "WHERE pipeline_id = :p ORDER BY position"), {"p": pipeline_id}).all()
                assert [(n, k, p) for n, k, p, _t in stages] == STAGES
                assert {t for *_rest, t in stages} == {tenant}
            if conn.dialect.name == "postgresql":
                secured = set(conn.execute(sa.text(
                    "SELECT relname FROM pg_class WHERE relrowsecurity AND relname IN "
                    "('pipelines', 'pipeline_stages', 'deals', 'deal_history', 'notes', 'tasks')")).scalars())
                assert secured == {"pipelines", "pipeline_stages", "deals", "deal_history", "notes", "tasks"}
        db.engine.dispose()
