"""The deals board with 5,000 deals in a workspace (5 workspaces in the database), timed as one logged-in user.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_bench_deals REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.deals [--tenants 5 --deals 5000 --rounds 40]

The dataset is built once per database, as the owner: each workspace signs up (so it gets the default
pipeline), then INSERT ... SELECT generate_series adds 1,000 contacts and the deals spread over the five
stages. Requests go through the Flask test client as the first workspace's user, connected as the app
role with row-level security. Prints p50/p95 for the board (target p95 < 300 ms), a filtered board, the
list, a move (with its out-of-band totals) and the whole CSV export. PostgreSQL only.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.contacts import APP_ROLE, PASSWORD, app_as_role, base_config, measure, owner_url  # noqa: E402

CONTACTS_SQL = """
INSERT INTO contacts (tenant_id, name, phone, custom_fields, opted_out, conversation_status, created_at, updated_at)
SELECT %(tenant)s, 'Buyer ' || n, '+1555' || lpad(n::text, 7, '0'), '{}', false, 'open', now(), now()
FROM generate_series(1, 1000) AS n
"""
# Deals spread evenly over the stages and 12 close months; positions follow the id within each stage.
DEALS_SQL = """
WITH s AS (SELECT array_agg(id ORDER BY position) AS ids, min(pipeline_id) AS pipeline FROM pipeline_stages
           WHERE tenant_id = %(tenant)s),
     c AS (SELECT array_agg(id ORDER BY id) AS ids FROM contacts WHERE tenant_id = %(tenant)s)
INSERT INTO deals (tenant_id, title, contact_id, pipeline_id, stage_id, position, value_minor, currency,
                   expected_close_on, closed_at, created_at, updated_at)
SELECT %(tenant)s, 'Deal ' || n, c.ids[1 + n %% array_length(c.ids, 1)], s.pipeline, s.ids[1 + n %% 5], n / 5,
       (n %% 977) * 1000, 'USD', date '2026-01-01' + (n %% 365), CASE WHEN n %% 5 >= 3 THEN now() END, now(), now()
FROM generate_series(1, %(count)s) AS n, s, c
"""


def build_dataset(tenants: int, deals: int, tmp: Path) -> None:
    """Migrate and fill the database once (as the owner); a database already filled is kept as it is."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from extensions import db
    from models import Tenant
    from services.accounts import sign_up

    app = create_app({**base_config(tmp), "SQLALCHEMY_DATABASE_URI": owner_url()})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if not db.session.scalar(select(func.count(Tenant.id)).where(Tenant.name.like("Deals %"))):
            for n in range(tenants):
                user = sign_up(f"deals{n}@example.com", PASSWORD, f"Deals {n}")
                db.session.flush()
                conn = db.session.connection()
                for sql in (CONTACTS_SQL, DEALS_SQL):
                    conn.exec_driver_sql(sql, {"tenant": user.tenant_id, "count": deals})
                db.session.commit()
                print(f"  workspace {n + 1}/{tenants}: {deals:,} deals", flush=True)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                                 f"EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        db.engine.dispose()


def main() -> int:
    """Build the dataset if needed, then time the board, list, a move and the export as one workspace's user."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--deals", type=int, default=5000, help="deals per workspace")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-deals-"))
    build_dataset(args.tenants, args.deals, tmp)
    app = app_as_role(tmp)
    client = app.test_client()
    assert client.post("/login", data={"email": "deals0@example.com", "password": PASSWORD}).status_code == 303
    with app.app_context():
        from sqlalchemy import func, select

        from extensions import db
        from models import Deal, Stage, User
        from models.tenancy import tenant_scope

        tenant_id = db.session.scalar(select(User.tenant_id).where(User.email == "deals0@example.com"))
        with tenant_scope(tenant_id):
            total = db.session.scalar(select(func.count(Deal.id)))
            deal_id = db.session.scalar(select(Deal.id).order_by(Deal.id).limit(1))
            stage_ids = list(db.session.scalars(select(Stage.id).order_by(Stage.position)))
    print(f"deals board: {total:,} deals in the workspace, {args.tenants} workspaces, as {APP_ROLE} with "
          f"row-level security, Flask test client, {args.rounds} rounds", flush=True)

    def get(url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.get_data()  # the CSV streams: read it to the end
        return call

    moves = {"n": 0}

    def move():
        moves["n"] += 1
        stage = stage_ids[moves["n"] % 2]  # between the first two stages, to the top of the column
        response = client.post(f"/deals/{deal_id}/move", data={"stage_id": stage, "position": 0},
                               headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code

    started = time.perf_counter()
    measure("/deals/ (board, every stage)", get("/deals/"), args.rounds, target_ms=300)
    measure("/deals/?month=2026-03 (filtered board)", get("/deals/?month=2026-03"), args.rounds)
    measure("/deals/list?sort=value (list, first page)", get("/deals/list?sort=value"), args.rounds)
    measure("POST /deals/<id>/move (htmx, totals)", move, args.rounds)
    measure("/deals/export.csv (every deal)", get("/deals/export.csv"), max(3, args.rounds // 8))
    print(f"total {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
