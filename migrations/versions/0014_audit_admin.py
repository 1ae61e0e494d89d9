"""audit log, per-workspace usage rollups and quotas

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 16:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("tenant_stats", "usage_days")
# Platform entries (no workspace) may be written from any scope; only admin code reads them.
AUDIT_CHECK = f"({PREDICATE} OR tenant_id IS NULL)"
# Append-only whatever grants an operator hands out later: only the table's owner (migrations, and the
# cascade when a workspace is deleted, which PostgreSQL runs as the owner) may change or remove a row.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_user <> (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit_events') THEN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$
"""
# Default privileges (ALTER DEFAULT PRIVILEGES ... GRANT UPDATE, DELETE) reach the new table: take them back.
REVOKE_FROM_GRANTEES = """
DO $$ DECLARE grantee_name text; BEGIN
  FOR grantee_name IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
      WHERE table_name = 'audit_events' AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
        AND grantee <> (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events' LIMIT 1)
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM %I', grantee_name);
  END LOOP;
END $$
"""


def upgrade():
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_events_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_audit_events_tenant_id_id")),
    )
    op.create_index(op.f("ix_audit_events_tenant_id"), "audit_events", ["tenant_id"])
    op.create_index("ix_audit_events_tenant_created", "audit_events", ["tenant_id", "created_at"])
    op.create_table(
        "tenant_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("sent_24h", sa.Integer(), nullable=False),
        sa.Column("received_24h", sa.Integer(), nullable=False),
        sa.Column("failed_24h", sa.Integer(), nullable=False),
        sa.Column("sent_30d", sa.Integer(), nullable=False),
        sa.Column("received_30d", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("media_bytes", sa.BigInteger(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_stats_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_stats")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_tenant_stats_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", name="uq_tenant_stats_tenant_id"),
    )
    op.create_index(op.f("ix_tenant_stats_tenant_id"), "tenant_stats", ["tenant_id"])
    op.create_table(
        "usage_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_usage_days_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_days")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_usage_days_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "day", name="uq_usage_days_tenant_id_day"),
    )
    op.create_index(op.f("ix_usage_days_tenant_id"), "usage_days", ["tenant_id"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index("ix_messages_tenant_created", "messages", ["tenant_id", "created_at"])
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("quota_contacts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quota_messages_per_day", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")
    op.execute("ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON audit_events USING {PREDICATE} WITH CHECK {AUDIT_CHECK}")
    op.execute(APPEND_ONLY)
    op.execute("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
               "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC")
    op.execute(REVOKE_FROM_GRANTEES)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        for table in (*TABLES, "audit_events"):
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("quota_messages_per_day")
        batch.drop_column("quota_contacts")
    op.drop_index("ix_messages_tenant_created", table_name="messages")
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_table("usage_days")
    op.drop_table("tenant_stats")
    op.drop_table("audit_events")
