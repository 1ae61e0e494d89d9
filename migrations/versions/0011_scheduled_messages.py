"""scheduled messages

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 15:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("scheduled_messages",)


def upgrade():
    op.create_table(
        "scheduled_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("template_name", sa.String(length=512), nullable=True),
        sa.Column("template_language", sa.String(length=20), nullable=True),
        sa.Column("template_variables", sa.JSON(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_scheduled_messages_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"],
                                name=op.f("fk_scheduled_messages_tenant_id_contact_id_contacts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_messages")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_scheduled_messages_tenant_id_id")),
    )
    op.create_index(op.f("ix_scheduled_messages_tenant_id"), "scheduled_messages", ["tenant_id"])
    op.create_index("ix_scheduled_messages_tenant_status_due", "scheduled_messages", ["tenant_id", "status", "due_at"])
    op.create_index("ix_scheduled_messages_tenant_contact", "scheduled_messages", ["tenant_id", "contact_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_table("scheduled_messages")
