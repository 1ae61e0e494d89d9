"""contact imports: the uploaded CSV, its mapping and position, and every rejected row

Revision ID: 0021
Revises: 0017
Create Date: 2026-11-23 17:16:45.344306

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0017'
branch_labels = None
depends_on = None

# Kept in the migration (as in 0004) so this revision never changes after the fact.
POLICY = "tenant_isolation"
PREDICATE = ("(current_setting('app.unscoped', true) = 'on' OR "
             "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::integer)")
TABLES = ("contact_imports", "contact_import_errors")


def upgrade():
    op.create_table('contact_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('delimiter', sa.String(length=1), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('tag_ids', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_contact_imports_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_imports')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_contact_imports_tenant_id_id'))
    )
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.create_index('ix_contact_imports_state_updated', ['state', 'updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_imports_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('contact_import_errors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'import_id'], ['contact_imports.tenant_id', 'contact_imports.id'], name=op.f('fk_contact_import_errors_tenant_id_import_id_contact_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_contact_import_errors_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_import_errors')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_contact_import_errors_tenant_id_id'))
    )
    with op.batch_alter_table('contact_import_errors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_import_errors_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_contact_import_errors_tenant_import_line', ['tenant_id', 'import_id', 'line'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING {PREDICATE} WITH CHECK {PREDICATE}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('contact_import_errors', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_import_errors_tenant_import_line')
        batch_op.drop_index(batch_op.f('ix_contact_import_errors_tenant_id'))

    op.drop_table('contact_import_errors')
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_imports_tenant_id'))
        batch_op.drop_index('ix_contact_imports_state_updated')

    op.drop_table('contact_imports')
