"""broadcasts and their recipients

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 14:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("broadcasts", "broadcast_recipients")


def upgrade():
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("template_name", sa.String(length=512), nullable=True),
        sa.Column("template_language", sa.String(length=20), nullable=True),
        sa.Column("template_variables", sa.JSON(), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_broadcasts_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_broadcasts_tenant_id_id")),
    )
    op.create_index(op.f("ix_broadcasts_tenant_id"), "broadcasts", ["tenant_id"])
    op.create_index("ix_broadcasts_tenant_status_scheduled", "broadcasts", ["tenant_id", "status", "scheduled_at"])
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_broadcast_recipients_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "broadcast_id"], ["broadcasts.tenant_id", "broadcasts.id"],
                                name=op.f("fk_broadcast_recipients_tenant_id_broadcast_id_broadcasts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"],
                                name=op.f("fk_broadcast_recipients_tenant_id_contact_id_contacts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_broadcast_recipients_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "broadcast_id", "contact_id",
                            name=op.f("uq_broadcast_recipients_tenant_id_broadcast_id_contact_id")),
    )
    op.create_index(op.f("ix_broadcast_recipients_tenant_id"), "broadcast_recipients", ["tenant_id"])
    op.create_index("ix_broadcast_recipients_tenant_broadcast_state", "broadcast_recipients",
                    ["tenant_id", "broadcast_id", "state", "id"])
    op.create_index("ix_broadcast_recipients_tenant_message", "broadcast_recipients", ["tenant_id", "message_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
