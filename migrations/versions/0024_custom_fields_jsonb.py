"""custom field filters at 100,000 contacts per workspace: a jsonb copy of contacts.custom_fields the database keeps

Segment counts and the contacts list filter on custom fields (`city` equals "lisbon", `plan` is set). On a
`json` column every `custom_fields ->> 'city'` parses the row's JSON text again: about 0.45 µs a row, twice
per row for "is set", so a workspace's custom-field count spent more time parsing than reading rows. The same
lookup on `jsonb` (already parsed, keys sorted) costs about 0.15 µs. Measured on one workspace's 100,000
benchmark contacts (bench/segments.py) copied to a table of their own, no parallel workers, p50:
`lower(->> 'city') = 'lisbon'` 69 ms on json, 37 ms on jsonb; `->> 'plan' <> ''` 52 ms and 23 ms.

Options weighed:

- Turning the column itself into jsonb: jsonb orders keys by length then bytes, and the contact form, the
  contact page and the inbox show custom fields in the order people typed them. Keeping that order some
  other way (an extra list of keys) needs every writer (form, API, import's SQL merge, workflow actions)
  to keep the list right by hand.
- An expression GIN index on `(tenant_id, (custom_fields::jsonb))` with `@>` / `?` as a prefilter ANDed
  with the exact condition: custom field equality is case-insensitive, so `@>` needs the values lower-cased
  in the index (a function over json_each_text, about 10 µs a row: lowering the whole JSON text instead
  would also lower the keys, and "City" and "city" would collide). Then under row-level security PostgreSQL
  applies `@>` and `?` only after the policy (they are not LEAKPROOF), so the application role could never
  use the index; even with them marked LEAKPROOF the planner kept the workspace's tenant_id index for values
  matching 9 to 43 % of a workspace. Unused, the prefilter is one more function call per row: counts took
  2 to 5 times as long (city = porto: 92 -> 223 ms p50; email has corp.test and plan is set: 64 -> 333 ms).
- This revision: a stored generated column `custom_fields_jsonb` = custom_fields as jsonb. The json column
  stays the source of truth (order kept, nothing else changes); PostgreSQL fills the copy on every INSERT
  and UPDATE, so every writer, including SQL ones, keeps it right without code. Filters read the copy
  (services.segments.filters); SQLite keeps reading custom_fields. No index: the filters read it per row,
  cheaply, whatever the share of contacts a value matches.

json keeps text that jsonb refuses (a `\\u0000` escape, a lone surrogate escape such as `\\ud800`). A plain
cast would then fail the write (and this migration, for a row already stored); `jsonb_or_null` gives NULL
instead, and custom-field conditions match no such contact. Before, `->>` on such a row raised the same
error, so a custom-field count that reached it failed for the whole workspace.

Costs: the copy roughly doubles the bytes custom fields take (the benchmark's contacts table, two short
fields a contact: 153 -> 191 MB); every contact write converts its fields
(about 2 µs). Adding the column rewrites the contacts table and its indexes under an exclusive lock: 25 s
for 1,000,000 contacts on the 2-core benchmark machine, while contacts can be neither read nor written.

PostgreSQL only (models/database_only.POSTGRESQL_ONLY_COLUMNS).

Revision ID: 0024
Revises: 0018
Create Date: 2026-11-24 09:00:00

"""
from alembic import op

revision = '0024'
down_revision = '0018'
branch_labels = None
depends_on = None

COLUMN = "custom_fields_jsonb"
FUNCTION = "jsonb_or_null(json)"

# IMMUTABLE as the json -> jsonb cast is; the EXCEPTION block costs a subtransaction (no transaction id) a call.
CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION} RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  RETURN $1::jsonb;
EXCEPTION WHEN data_exception THEN
  RETURN NULL;  -- text jsonb cannot hold (\\u0000, a lone surrogate): no copy rather than a failed write
END
$$"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_FUNCTION)
    op.execute(f"ALTER TABLE contacts ADD COLUMN {COLUMN} jsonb "
               f"GENERATED ALWAYS AS (jsonb_or_null(custom_fields)) STORED")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE contacts DROP COLUMN {COLUMN}")
    op.execute(f"DROP FUNCTION {FUNCTION}")
