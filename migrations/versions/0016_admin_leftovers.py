"""stored media bytes per workspace: a partial index the usage rollup sums from

The rollup (every 10 minutes) adds up Message.media's recorded `size` per workspace. Without an index that is
a scan of every message (76 ms at 300,000 messages, so seconds at the issue's 10,000,000); this partial index
holds only the messages that have media, so the sum visits those rows alone (an expression on the size would
not make it index-only: PostgreSQL still wants the `media` column itself from the table).

PostgreSQL only (models/database_only.POSTGRESQL_ONLY_INDEXES); SQLite, the small embedded install, scans.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 16:00:00

"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# The predicate is what services/admin/rollup.media_totals() filters on, so the planner can use the index.
INDEX = "ix_messages_tenant_media_size"
DEFINITION = "messages (tenant_id) WHERE media IS NOT NULL"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {DEFINITION}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
