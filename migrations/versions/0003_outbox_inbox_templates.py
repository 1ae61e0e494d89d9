"""outbox, inbox, templates, quick replies, opt-out and retention settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:44:24.005594

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=True),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('variable_count', sa.Integer(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_message_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_message_templates_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', 'language', name=op.f('uq_message_templates_tenant_id_name_language'))
    )
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_templates_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('quick_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shortcut', sa.String(length=30), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quick_replies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quick_replies')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_quick_replies_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'shortcut', name=op.f('uq_quick_replies_tenant_id_shortcut'))
    )
    with op.batch_alter_table('quick_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quick_replies_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rate_per_second', sa.Float(), nullable=True))

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_contacts_tenant_last_message', ['tenant_id', 'last_message_at'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=20), nullable=False, server_default='inbox'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sending_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_tenant_status', ['tenant_id', 'status'], unique=False)

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opt_out_keywords', sa.Text(), nullable=False, server_default='STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, BAJA, PARAR, DETENER, CANCELAR, SAIR, DESCADASTRAR'))
        batch_op.add_column(sa.Column('opt_in_keywords', sa.Text(), nullable=False, server_default='START, UNSTOP, SUBSCRIBE, ALTA, INICIAR, VOLTAR'))
        batch_op.add_column(sa.Column('retention_days', sa.Integer(), nullable=False, server_default='365'))
        batch_op.add_column(sa.Column('retention_max_messages', sa.Integer(), nullable=False, server_default='100000'))



def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('retention_max_messages')
        batch_op.drop_column('retention_days')
        batch_op.drop_column('opt_in_keywords')
        batch_op.drop_column('opt_out_keywords')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_tenant_status')
        batch_op.drop_column('sending_started_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('origin')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_tenant_last_message')
        batch_op.drop_column('last_read_at')
        batch_op.drop_column('last_message_at')

    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('rate_per_second')
        batch_op.drop_column('paused_reason')
        batch_op.drop_column('paused_at')

    with op.batch_alter_table('quick_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quick_replies_tenant_id'))

    op.drop_table('quick_replies')
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_templates_tenant_id'))

    op.drop_table('message_templates')
