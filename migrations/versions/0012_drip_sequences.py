"""drip sequences

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 14:05:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("drip_sequences", "drip_steps", "drip_enrolments", "drip_step_sends")


def upgrade():
    op.create_table('drip_sequences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('auto_enrol', sa.Boolean(), nullable=False),
    sa.Column('auto_enrol_tag_id', sa.Integer(), nullable=True),
    sa.Column('allow_reenrol', sa.Boolean(), nullable=False),
    sa.Column('exit_on_reply', sa.Boolean(), nullable=False),
    sa.Column('exit_tag_id', sa.Integer(), nullable=True),
    sa.Column('window_days', sa.String(length=20), nullable=True),
    sa.Column('window_start', sa.Time(), nullable=True),
    sa.Column('window_end', sa.Time(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_drip_sequences_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_sequences')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_drip_sequences_tenant_id_id'))
    )
    with op.batch_alter_table('drip_sequences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_sequences_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('drip_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('current_step_id', sa.Integer(), nullable=True),
    sa.Column('next_step_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anchor_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'contact_id'], ['contacts.tenant_id', 'contacts.id'], name=op.f('fk_drip_enrolments_tenant_id_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'sequence_id'], ['drip_sequences.tenant_id', 'drip_sequences.id'], name=op.f('fk_drip_enrolments_tenant_id_sequence_id_drip_sequences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_drip_enrolments_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_enrolments')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_drip_enrolments_tenant_id_id'))
    )
    with op.batch_alter_table('drip_enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_drip_enrolments_next_step_at', ['next_step_at'], unique=False)
        batch_op.create_index('ix_drip_enrolments_tenant_contact', ['tenant_id', 'contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_enrolments_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_drip_enrolments_tenant_next_step_at', ['tenant_id', 'next_step_at'], unique=False)
        batch_op.create_index('ix_drip_enrolments_tenant_sequence_state', ['tenant_id', 'sequence_id', 'state'], unique=False)
        batch_op.create_index('uq_drip_enrolments_one_active', ['tenant_id', 'sequence_id', 'contact_id'], unique=True, postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"))

    op.create_table('drip_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delay_value', sa.Integer(), nullable=False),
    sa.Column('delay_unit', sa.String(length=10), nullable=False),
    sa.Column('delay_from', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('template_name', sa.String(length=512), nullable=True),
    sa.Column('template_language', sa.String(length=20), nullable=True),
    sa.Column('template_variables', sa.JSON(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'sequence_id'], ['drip_sequences.tenant_id', 'drip_sequences.id'], name=op.f('fk_drip_steps_tenant_id_sequence_id_drip_sequences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_drip_steps_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_steps')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_drip_steps_tenant_id_id'))
    )
    with op.batch_alter_table('drip_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_steps_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_drip_steps_tenant_sequence_position', ['tenant_id', 'sequence_id', 'position'], unique=False)

    op.create_table('drip_step_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'enrolment_id'], ['drip_enrolments.tenant_id', 'drip_enrolments.id'], name=op.f('fk_drip_step_sends_tenant_id_enrolment_id_drip_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'step_id'], ['drip_steps.tenant_id', 'drip_steps.id'], name=op.f('fk_drip_step_sends_tenant_id_step_id_drip_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_drip_step_sends_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_step_sends')),
    sa.UniqueConstraint('enrolment_id', 'step_id', name=op.f('uq_drip_step_sends_enrolment_id_step_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_drip_step_sends_tenant_id_id'))
    )
    with op.batch_alter_table('drip_step_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_step_sends_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_drip_step_sends_tenant_message', ['tenant_id', 'message_id'], unique=False)
        batch_op.create_index('ix_drip_step_sends_tenant_step', ['tenant_id', 'step_id'], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('drip_step_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_drip_step_sends_tenant_step')
        batch_op.drop_index('ix_drip_step_sends_tenant_message')
        batch_op.drop_index(batch_op.f('ix_drip_step_sends_tenant_id'))

    op.drop_table('drip_step_sends')
    with op.batch_alter_table('drip_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_drip_steps_tenant_sequence_position')
        batch_op.drop_index(batch_op.f('ix_drip_steps_tenant_id'))

    op.drop_table('drip_steps')
    with op.batch_alter_table('drip_enrolments', schema=None) as batch_op:
        batch_op.drop_index('uq_drip_enrolments_one_active', postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"))
        batch_op.drop_index('ix_drip_enrolments_tenant_sequence_state')
        batch_op.drop_index('ix_drip_enrolments_tenant_next_step_at')
        batch_op.drop_index(batch_op.f('ix_drip_enrolments_tenant_id'))
        batch_op.drop_index('ix_drip_enrolments_tenant_contact')
        batch_op.drop_index('ix_drip_enrolments_next_step_at')

    op.drop_table('drip_enrolments')
    with op.batch_alter_table('drip_sequences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_sequences_tenant_id'))

    op.drop_table('drip_sequences')
