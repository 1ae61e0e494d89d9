"""domain events: the transactional outbox workflows and outbound webhooks consume

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 17:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact; evaluated once per
# statement (as 0015 made it for contacts), since the dispatcher reads events in batches.
POLICY = "tenant_isolation"
PREDICATE = ("((SELECT current_setting('app.unscoped', true)) = 'on' OR "
             "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::integer))")
TABLES = ("domain_events",)


def upgrade():
    op.create_table('domain_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('origin', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_domain_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_domain_events_tenant_id_id'))
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_events_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_domain_events_tenant_pending', ['tenant_id', 'dispatched_at', 'id'], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.drop_index('ix_domain_events_tenant_pending')
        batch_op.drop_index(batch_op.f('ix_domain_events_tenant_id'))
    op.drop_table('domain_events')
