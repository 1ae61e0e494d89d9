"""contacts list at 100,000 contacts per workspace: workspace-leading search indexes, a policy read once per query

Two costs measured as the application role (row-level security on) with 1,000,000 contacts in 10 workspaces:

- The trigram indexes of 0008 hold every workspace's rows: a search for "greta" collected 20,000 rows from
  all workspaces and threw away 18,000. With btree_gin (a trusted extension, like pg_trgm) tenant_id joins
  the trigrams in one GIN index, so a search reads only its own workspace's matches.
- The policy's condition called current_setting() twice on every row a query read (about 1 µs per row:
  half of counting a 100,000-contact segment). Written with each setting in a scalar sub-select, PostgreSQL
  evaluates them once per statement (an InitPlan) and compares a parameter per row. Same rows pass: only
  when the settings are read changes. Applied to the tables the contacts list and segments read.

PostgreSQL only; SQLite has neither row-level security nor these index types.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 15:00:00

"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
PREDICATE_ONCE = ("((SELECT current_setting('app.unscoped', true)) = 'on' OR "
                  "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::integer))")
TABLES = ("contacts", "contact_tags", "tags")

NEW_INDEXES = {
    "ix_contacts_tenant_name_trgm": "contacts USING gin (tenant_id, lower(name) gin_trgm_ops)",
    "ix_contacts_tenant_phone_trgm": "contacts USING gin (tenant_id, phone gin_trgm_ops)",
    "ix_contacts_tenant_email_trgm": "contacts USING gin (tenant_id, lower(email) gin_trgm_ops)",
}
# 0008's all-workspace trigram indexes, replaced by the ones above.
OLD_INDEXES = {
    "ix_contacts_name_trgm": "contacts USING gin (lower(name) gin_trgm_ops)",
    "ix_contacts_phone_trgm": "contacts USING gin (phone gin_trgm_ops)",
    "ix_contacts_email_trgm": "contacts USING gin (lower(email) gin_trgm_ops)",
}


def _policies(predicate: str) -> None:
    for table in TABLES:
        op.execute(f"ALTER POLICY {POLICY} ON {table} USING {predicate} WITH CHECK {predicate}")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for name, definition in NEW_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    _policies(PREDICATE_ONCE)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _policies(PREDICATE)
    for name, definition in OLD_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name in NEW_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
