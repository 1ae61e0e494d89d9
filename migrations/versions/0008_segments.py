"""segments (saved contact filters); contacts list and search indexes on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")

# What the contacts list and segment filters need at 100,000 contacts per workspace (PERFORMANCE.md):
# the newest-first page without sorting the workspace, substring search by trigrams (pg_trgm, 0007),
# and tag filters that read only one tag's links.
CONTACT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_contacts_tenant_created_id ON contacts (tenant_id, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_name_trgm ON contacts USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_phone_trgm ON contacts USING gin (phone gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_tags_tenant_tag ON contact_tags (tenant_id, tag_id, contact_id)",
]
CONTACT_INDEX_NAMES = ["ix_contacts_tenant_created_id", "ix_contacts_name_trgm", "ix_contacts_phone_trgm",
                       "ix_contacts_email_trgm", "ix_contact_tags_tenant_tag"]


def upgrade():
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_segments_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_segments_tenant_id_id'))
    )
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segments_tenant_id'), ['tenant_id'], unique=False)
    op.create_index('uq_segments_tenant_lower_name', 'segments', ['tenant_id', sa.text('lower(name)')], unique=True)

    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE segments ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON segments USING {PREDICATE} WITH CHECK {PREDICATE}")
    for statement in CONTACT_INDEXES:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in CONTACT_INDEX_NAMES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON segments")
    op.drop_index('uq_segments_tenant_lower_name', table_name='segments')
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segments_tenant_id'))
    op.drop_table('segments')
