"""usage rollup: outbound messages by status, and customer turns with their answer times per workspace and day

The platform analytics page read response figures (a window function over every message in the range) and
messages per day straight from the messages table, so it slowed as the platform grew. The rollup now keeps
them in usage_days: queued, delivered and read counts; turns begun, turns answered, and answers counted into
wait buckets (models.tenant_stats.WAIT_EDGES) so a median over any range is a sum of columns. platform_days
holds those columns summed over every workspace per day (platform-wide, so no workspace and no row-level
policy; only admin routes read it), so the platform page reads 30 rows, not one per workspace and day.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23 17:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

WAIT_BUCKETS = 24  # len(WAIT_EDGES) + 1, frozen here as the migration was written
COLUMNS = ("queued", "delivered", "read", "turns", "answered", *(f"wait_{n}" for n in range(WAIT_BUCKETS)))
PLATFORM_COLUMNS = ("sent", "received", "failed", "queued", "delivered", "read", "turns", "answered",
                    *(f"wait_{n}" for n in range(WAIT_BUCKETS)))


def upgrade():
    with op.batch_alter_table("usage_days") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "platform_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0") for name in PLATFORM_COLUMNS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_days")),
        sa.UniqueConstraint("day", name=op.f("uq_platform_days_day")),
    )


def downgrade():
    op.drop_table("platform_days")
    with op.batch_alter_table("usage_days") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
