"""The progress page's recipients table at 100,000 recipients in one broadcast, as the app role under RLS.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_engine_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.recipients [--contacts 100000 --rounds 40 --explain]

Uses (and builds when missing) the dataset of bench/contacts.py (here one workspace by default), then
snapshots two broadcasts to every contact of the first workspace with INSERT ... SELECT (each recipient
with its message: one in ten failed with a reason, the rest sent, delivered or read). VACUUM ANALYZE
(autovacuum may be off), then times the second broadcast's table pages (first page, a deep page, filtered
by state) in the service and through the Flask test client as a logged-in user. PostgreSQL only.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.contacts import (  # noqa: E402
    APP_ROLE,
    app_as_role,
    build_dataset,
    explain,
    logged_in_client,
    measure,
    owner_url,
    print_load,
    tenant_of,
)

NAME = "Recipients table bench"
EARLIER = "Recipients table bench, an earlier broadcast"
BROADCAST_SQL = """
INSERT INTO broadcasts (tenant_id, name, status, audience, body, created_at, updated_at, started_at)
VALUES (%(tenant)s, %(name)s, 'sending', '{"kind": "all"}', 'Hi {{first_name}}', now(), now(), now()) RETURNING id
"""
# One message per contact, as the sender leaves them: a tenth failed, the rest sent, delivered or read.
MESSAGES_SQL = """
INSERT INTO messages (tenant_id, contact_id, direction, type, body, status, error_title, origin, attempts,
                      sent_at, created_at, updated_at)
SELECT %(tenant)s, c.id, 'out', 'text', %(name)s,
       CASE WHEN c.id %% 10 = 0 THEN 'failed' ELSE (ARRAY['sent','delivered','read'])[1 + c.id %% 3] END,
       CASE WHEN c.id %% 10 = 0 THEN '131026: message undeliverable' END, 'broadcast', 1, now(), now(), now()
FROM contacts c WHERE c.tenant_id = %(tenant)s ORDER BY c.id
"""
RECIPIENTS_SQL = """
INSERT INTO broadcast_recipients (tenant_id, broadcast_id, contact_id, state, message_id, claimed_at, sent_at)
SELECT %(tenant)s, %(broadcast)s, m.contact_id, CASE WHEN m.status = 'failed' THEN 'failed' ELSE 'sent' END,
       m.id, now(), now()
FROM messages m WHERE m.tenant_id = %(tenant)s AND m.body = %(name)s ORDER BY m.contact_id
"""


def build_broadcast(tenant_id: int) -> int:
    """The bench broadcast's id, snapshotting it (as the owner) the first time; then VACUUM ANALYZE.

    An earlier broadcast to the same contacts comes first, so the measured one's recipients are not the
    lowest ids in the table (a workspace's second broadcast, not its first).
    """
    from sqlalchemy import create_engine

    engine = create_engine(owner_url())
    with engine.begin() as conn:
        found = conn.exec_driver_sql("SELECT id FROM broadcasts WHERE tenant_id = %(t)s AND name = %(n)s",
                                     {"t": tenant_id, "n": NAME}).scalar()
        for name in ((EARLIER, NAME) if found is None else ()):
            found = conn.exec_driver_sql(BROADCAST_SQL, {"tenant": tenant_id, "name": name}).scalar()
            conn.exec_driver_sql(MESSAGES_SQL, {"tenant": tenant_id, "name": name})
            conn.exec_driver_sql(RECIPIENTS_SQL, {"tenant": tenant_id, "broadcast": found, "name": name})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("broadcast_recipients", "broadcasts", "messages"):
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    engine.dispose()
    return found


def main() -> int:
    """Build the data if needed, then time the recipients table's pages."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts per workspace (= recipients)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="print the plan of every recipients query")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-recipients-"))
    build_dataset(args.tenants, args.contacts, tmp)
    app = app_as_role(tmp)
    tenant_id = tenant_of(app)
    broadcast_id = build_broadcast(tenant_id)
    client = logged_in_client(app)

    from sqlalchemy import func, select

    from extensions import db
    from models import Broadcast, BroadcastRecipient
    from models.tenancy import tenant_scope
    from services.broadcasts.recipients import recipients

    with app.app_context(), tenant_scope(tenant_id):
        total = db.session.scalar(select(func.count(BroadcastRecipient.id))
                                  .where(BroadcastRecipient.broadcast_id == broadcast_id))
        middle = db.session.scalar(select(BroadcastRecipient.id).where(BroadcastRecipient.broadcast_id == broadcast_id)
                                   .order_by(BroadcastRecipient.id).offset(total // 2).limit(1))
    print(f"recipients table: {total:,} recipients in one broadcast, as {APP_ROLE} with row-level security, "
          f"{args.rounds} rounds", flush=True)
    print_load()

    def page(**kwargs):
        def call():
            with app.app_context(), tenant_scope(tenant_id):
                result = recipients(db.session.get(Broadcast, broadcast_id), **kwargs)
                db.session.rollback()
                return result
        return call

    def get(url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return call

    base = f"/broadcasts/{broadcast_id}/recipients"
    cases = {
        "first page (service)": page(),
        "page after the middle (service)": page(after=middle),
        "page before the middle (service)": page(before=middle),
        "state=failed first page (service)": page(state="failed"),
        "state=sent first page (service)": page(state="sent"),
        f"GET {base}": get(base),
        f"GET {base}?after=<middle>": get(f"{base}?after={middle}"),
        f"GET {base}?state=failed": get(f"{base}?state=failed"),
    }
    for label, call in cases.items():
        measure(label, call, args.rounds, target_ms=50)
    print_load()
    if args.explain:
        for label, call in cases.items():
            if "service" in label:
                explain(app, tenant_id, label, call, tables=("broadcast_recipients",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
