"""durable webhook processing, session versions, the channel a message went through

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhook_events") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("item_errors", sa.JSON(), nullable=True))
    # The sweep and the settings page look for unfinished events; processed ones are the bulk of the table.
    op.create_index("ix_webhook_events_tenant_pending", "webhook_events", ["tenant_id", "processed_at", "failed_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("channel_kind", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("channel_kind")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
    op.drop_index("ix_webhook_events_tenant_pending", table_name="webhook_events")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("item_errors")
        batch.drop_column("failed_at")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
