"""broadcast recipients in id order within one broadcast: the recipients table's index

The progress page's recipients table pages one broadcast's recipients by id. With only the
(tenant_id, broadcast_id, state, id) index, an unfiltered page had to walk the primary key through every
earlier broadcast's recipients (100,000 rows skipped for a workspace's second 100,000-recipient broadcast)
or read and sort the whole broadcast. (tenant_id, broadcast_id, id) hands over the page's rows in order.

Revision ID: 0022
Revises: 0020
Create Date: 2026-11-23 17:30:00

"""
from alembic import op

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None

INDEX = "ix_broadcast_recipients_tenant_broadcast_id"


def upgrade():
    op.create_index(INDEX, "broadcast_recipients", ["tenant_id", "broadcast_id", "id"])


def downgrade():
    op.drop_index(INDEX, table_name="broadcast_recipients")
