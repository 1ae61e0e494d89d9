"""workflows

Revision ID: 0018
Revises: 0019
Create Date: 2026-11-23 17:16:32

"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0019'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("workflows", "workflow_runs")


def upgrade():
    op.create_table('workflows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('trigger_kind', sa.String(length=40), nullable=False),
    sa.Column('trigger_config', sa.JSON(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('daily_done_on', sa.Date(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflows_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_workflows_tenant_id_id'))
    )
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflows_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_workflows_tenant_trigger', ['tenant_id', 'trigger_kind', 'enabled'], unique=False)

    op.create_table('workflow_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('trigger_key', sa.String(length=80), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('log', sa.JSON(), nullable=False),
    sa.Column('next_action', sa.Integer(), nullable=False),
    sa.Column('resume_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('chain', sa.JSON(), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'contact_id'], ['contacts.tenant_id', 'contacts.id'], name=op.f('fk_workflow_runs_tenant_id_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'workflow_id'], ['workflows.tenant_id', 'workflows.id'], name=op.f('fk_workflow_runs_tenant_id_workflow_id_workflows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_runs')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_workflow_runs_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'workflow_id', 'trigger_key', name=op.f('uq_workflow_runs_tenant_id_workflow_id_trigger_key'))
    )
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.create_index('ix_workflow_runs_resume_at', ['resume_at'], unique=False)
        batch_op.create_index('ix_workflow_runs_tenant_contact_created', ['tenant_id', 'contact_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_workflow_runs_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_workflow_runs_tenant_resume_at', ['tenant_id', 'resume_at'], unique=False)
        batch_op.create_index('ix_workflow_runs_tenant_workflow', ['tenant_id', 'workflow_id', 'id'], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")



def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('workflow_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_runs_tenant_workflow')
        batch_op.drop_index('ix_workflow_runs_tenant_resume_at')
        batch_op.drop_index(batch_op.f('ix_workflow_runs_tenant_id'))
        batch_op.drop_index('ix_workflow_runs_tenant_contact_created')
        batch_op.drop_index('ix_workflow_runs_resume_at')

    op.drop_table('workflow_runs')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_index('ix_workflows_tenant_trigger')
        batch_op.drop_index(batch_op.f('ix_workflows_tenant_id'))

    op.drop_table('workflows')
