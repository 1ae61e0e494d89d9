"""quick reply shortcuts unique regardless of case

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 03:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("uq_quick_replies_tenant_lower_shortcut", "quick_replies",
                    ["tenant_id", sa.text("lower(shortcut)")], unique=True)


def downgrade():
    op.drop_index("uq_quick_replies_tenant_lower_shortcut", table_name="quick_replies")
