"""text search indexes usable under row-level security (PostgreSQL, when migrated by a superuser)

Under row-level security PostgreSQL applies a query's own conditions only after the policy, unless
their functions are LEAKPROOF. LIKE, ILIKE and lower() are not marked so, which keeps every trigram
index out of reach of the application role: a search scans the whole workspace. Marking them is
safe for MessageHub: the application role only runs the queries the code builds (nobody can write
SQL through it), those queries carry `tenant_id = <current>` themselves, and the one argument that
can make these functions raise is the search pattern the user typed, not another tenant's data.

Only a superuser may change this. Any other migrating role leaves the functions as they are (search
stays correct, only slower) and the migration says so.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 13:00:00

"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FUNCTIONS = ("textlike(text, text)", "texticlike(text, text)", "lower(text)")


def _set(leakproof: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    word = "LEAKPROOF" if leakproof else "NOT LEAKPROOF"
    statements = " ".join(f"ALTER FUNCTION pg_catalog.{name} {word};" for name in FUNCTIONS)
    op.execute(f"""
        DO $$ BEGIN
          IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            {statements}
          ELSE
            RAISE NOTICE 'not a superuser: LIKE, ILIKE and lower() stay non-leakproof, searches scan the workspace';
          END IF;
        END $$""")


def upgrade():
    _set(True)


def downgrade():
    _set(False)
