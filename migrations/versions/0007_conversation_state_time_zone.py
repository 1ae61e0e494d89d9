"""conversation state (open / resolved), workspace time zone, message text search index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("conversation_status", sa.String(length=10), nullable=False,
                                   server_default="open"))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_contacts_tenant_status_last_message", "contacts",
                    ["tenant_id", "conversation_status", "last_message_at"])
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"))
    if op.get_bind().dialect.name == "postgresql":
        # Substring search over message text (ILIKE '%word%') needs trigrams; pg_trgm is a trusted extension.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_messages_body_trgm ON messages USING gin (body gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_body_trgm")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("time_zone")
    op.drop_index("ix_contacts_tenant_status_last_message", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("resolved_at")
        batch.drop_column("conversation_status")
