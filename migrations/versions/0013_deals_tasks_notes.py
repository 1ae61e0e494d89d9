"""deals: pipelines and stages, deals and their history, tasks and the notes timeline

Every existing workspace gets the default pipeline, and each contact's old single notes field becomes
the first entry of its notes timeline.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-23 16:00:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("pipelines", "pipeline_stages", "deals", "deal_history", "notes", "tasks")
# The default pipeline as services.deals.pipelines creates it for new workspaces, frozen here.
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (("New", "open"), ("Qualified", "open"), ("Proposal", "open"), ("Won", "won"), ("Lost", "lost"))


def upgrade():
    op.create_table('pipelines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_pipelines_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipelines')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_pipelines_tenant_id_id'))
    )
    with op.batch_alter_table('pipelines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipelines_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('pipeline_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'pipeline_id'], ['pipelines.tenant_id', 'pipelines.id'], name=op.f('fk_pipeline_stages_tenant_id_pipeline_id_pipelines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_pipeline_stages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_stages')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_pipeline_stages_tenant_id_id'))
    )
    with op.batch_alter_table('pipeline_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipeline_stages_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_pipeline_stages_tenant_pipeline_position', ['tenant_id', 'pipeline_id', 'position'], unique=False)

    op.create_table('deals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'contact_id'], ['contacts.tenant_id', 'contacts.id'], name=op.f('fk_deals_tenant_id_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'pipeline_id'], ['pipelines.tenant_id', 'pipelines.id'], name=op.f('fk_deals_tenant_id_pipeline_id_pipelines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'stage_id'], ['pipeline_stages.tenant_id', 'pipeline_stages.id'], name=op.f('fk_deals_tenant_id_stage_id_pipeline_stages')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_deals_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_deals_tenant_id_id'))
    )
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.create_index('ix_deals_tenant_contact', ['tenant_id', 'contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deals_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_deals_tenant_stage_position', ['tenant_id', 'stage_id', 'position'], unique=False)

    op.create_table('deal_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('from_stage_id', sa.Integer(), nullable=True),
    sa.Column('to_stage_id', sa.Integer(), nullable=False),
    sa.Column('from_stage_name', sa.String(length=60), nullable=True),
    sa.Column('to_stage_name', sa.String(length=60), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'deal_id'], ['deals.tenant_id', 'deals.id'], name=op.f('fk_deal_history_tenant_id_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_deal_history_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_history')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_deal_history_tenant_id_id'))
    )
    with op.batch_alter_table('deal_history', schema=None) as batch_op:
        batch_op.create_index('ix_deal_history_tenant_deal', ['tenant_id', 'deal_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_history_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'contact_id'], ['contacts.tenant_id', 'contacts.id'], name=op.f('fk_notes_tenant_id_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'deal_id'], ['deals.tenant_id', 'deals.id'], name=op.f('fk_notes_tenant_id_deal_id_deals')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_notes_tenant_id_id'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_tenant_contact_created', ['tenant_id', 'contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_notes_tenant_deal', ['tenant_id', 'deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notes_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'contact_id'], ['contacts.tenant_id', 'contacts.id'], name=op.f('fk_tasks_tenant_id_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'deal_id'], ['deals.tenant_id', 'deals.id'], name=op.f('fk_tasks_tenant_id_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tasks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_tasks_tenant_id_id'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_tenant_assignee_done_due', ['tenant_id', 'assignee_id', 'done_at', 'due_at'], unique=False)
        batch_op.create_index('ix_tasks_tenant_contact', ['tenant_id', 'contact_id'], unique=False)
        batch_op.create_index('ix_tasks_tenant_deal', ['tenant_id', 'deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_tenant_id'), ['tenant_id'], unique=False)
    _default_pipelines()
    _notes_from_contacts()
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")


def _default_pipelines():
    """One default pipeline with its stages for every workspace that exists already."""
    now = sa.bindparam("now", datetime.now(UTC), type_=sa.DateTime(timezone=True))
    op.execute(sa.text("INSERT INTO pipelines (tenant_id, name, position, created_at, updated_at) "
                       "SELECT id, :name, 0, :now, :now FROM tenants").bindparams(now, name=DEFAULT_PIPELINE))
    for position, (name, outcome) in enumerate(DEFAULT_STAGES):
        # Both tables belong to the same tenant: the SELECT carries the pipeline's tenant_id over.
        op.execute(sa.text("INSERT INTO pipeline_stages (tenant_id, pipeline_id, name, position, outcome) "
                           "SELECT tenant_id, id, :name, :position, :outcome FROM pipelines")
                   .bindparams(name=name, position=position, outcome=outcome))


def _notes_from_contacts():
    """The old single notes field becomes the contact's first timeline entry, dated when the contact last changed.

    Read in Python: a field holding only spaces and line breaks is left out, and SQL's TRIM differs per database.
    """
    conn = op.get_bind()
    notes = sa.table("notes", sa.column("tenant_id"), sa.column("contact_id"), sa.column("body"),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    query = sa.text("SELECT tenant_id, id, notes, updated_at FROM contacts WHERE notes IS NOT NULL ORDER BY id")
    query = query.columns(sa.column("tenant_id"), sa.column("id"), sa.column("notes"),
                          sa.column("updated_at", sa.DateTime(timezone=True)))
    rows = conn.execute(query.execution_options(yield_per=1000))
    for batch in rows.partitions():
        entries = [{"tenant_id": tenant_id, "contact_id": contact_id, "body": body.strip(), "created_at": updated_at}
                   for tenant_id, contact_id, body, updated_at in batch if body.strip()]
        if entries:
            conn.execute(notes.insert(), entries)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    for table in ("tasks", "notes", "deal_history", "deals", "pipeline_stages", "pipelines"):
        op.drop_table(table)
