"""The admin tenants list and a workspace's analytics at platform scale.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_bench_admin REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.admin [--tenants 2000 --messages 1000000 --rounds 30]

The issue's scale is `--tenants 10000 --messages 10000000`; the default is smaller so a run fits in minutes
on the development machine. The dataset is built once per database (kept while its size matches), as the
owner, in bulk SQL at migration 0011: workspaces, one user each, CONTACTS contacts each, and messages spread
evenly over the workspaces and the last 60 days (both directions, every status). Migration 0014 then builds
its indexes on the full tables and the usage rollup runs once (its time is printed). Pages are timed through
the Flask test client connected as the app role (row-level security paid as in production): the tenants
list as a platform admin (first page, sorted by messages, searched, a deep page) with a target p95 <= 200 ms,
and the first workspace's analytics page as its user, and the platform's analytics page as the admin (both read
response figures from the rollup), with a target p95 <= 300 ms. PostgreSQL only.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.contacts import APP_ROLE, PASSWORD, app_as_role, base_config, measure, owner_url  # noqa: E402

CONTACTS = 5
ADMIN_EMAIL = "bench-admin@example.com"

TENANTS_SQL = """
INSERT INTO tenants (name, status, default_region, time_zone, opt_out_keywords, opt_in_keywords, retention_days,
                     retention_max_messages, created_at, updated_at)
SELECT 'Bench workspace ' || g, 'active', 'US', 'UTC', 'STOP', 'START', 365, 100000,
       now() - (g %% 400) * interval '1 day', now()
FROM generate_series(1, %(tenants)s) AS g
"""
USERS_SQL = """
INSERT INTO users (tenant_id, email, password_hash, is_admin, is_active, created_at, updated_at, session_version)
SELECT id, 'owner' || substr(name, 17) || '@bench.test', %(hash)s, false, true, created_at, now(), 0
FROM tenants WHERE name LIKE 'Bench workspace %%'
"""
CONTACTS_SQL = f"""
INSERT INTO contacts (tenant_id, name, phone, custom_fields, opted_out, opted_out_at, conversation_status,
                      created_at, updated_at)
SELECT t.id, 'Customer ' || c, '+1' || (2000000000 + t.id * {CONTACTS} + c)::text, '{{}}', c = 1 AND t.id %% 9 = 0,
       CASE WHEN c = 1 AND t.id %% 9 = 0 THEN now() - (t.id %% 30) * interval '1 day' END, 'open', now(), now()
FROM tenants t, generate_series(1, {CONTACTS}) AS c WHERE t.name LIKE 'Bench workspace %%'
"""
# Workspace number n (from 0) and its contacts' ids, for spreading messages in one statement.
LOOKUP_SQL = """
CREATE TEMP TABLE bench_lookup AS
SELECT row_number() OVER (ORDER BY t.id) - 1 AS n, t.id AS tenant_id, array_agg(c.id ORDER BY c.id) AS contacts
FROM tenants t JOIN contacts c ON c.tenant_id = t.id WHERE t.name LIKE 'Bench workspace %%' GROUP BY t.id
"""
MESSAGES_SQL = f"""
INSERT INTO messages (tenant_id, contact_id, direction, type, body, status, origin, attempts, created_at,
                      updated_at, channel_kind)
SELECT l.tenant_id, l.contacts[1 + (g / %(tenants)s) %% {CONTACTS}],
       CASE WHEN g %% 3 = 0 THEN 'in' ELSE 'out' END, 'text',
       (ARRAY['Hello','Thanks!','Order 42?','See you'])[1 + g %% 4],
       CASE WHEN g %% 3 = 0 THEN 'received'
            ELSE (ARRAY['sent','delivered','read','read','failed'])[1 + g %% 5] END,
       CASE WHEN g %% 7 = 0 THEN 'broadcast' ELSE 'inbox' END, 0,
       now() - ((g * 7919) %% (60 * 86400)) * interval '1 second', now(), 'sandbox'
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS g JOIN bench_lookup l ON l.n = g %% %(tenants)s
"""
BATCH = 500_000


def build_dataset(tenants: int, messages: int, tmp: Path) -> None:
    """Migrate and fill the database once (as the owner); a database already holding this size is kept."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from extensions import db
    from services.passwords import hash_password

    app = create_app({**base_config(tmp), "SQLALCHEMY_DATABASE_URI": owner_url()})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="0011")
        conn = db.session.connection()
        have = conn.exec_driver_sql("SELECT count(*) FROM tenants WHERE name LIKE 'Bench workspace %%'").scalar()
        stored = conn.exec_driver_sql("SELECT count(*) FROM messages").scalar() if have else 0
        if have and (have != tenants or stored != messages):
            sys.exit(f"this database holds {have:,} workspaces and {stored:,} messages: use another database "
                     f"for --tenants {tenants} --messages {messages}")
        if not have:
            started = time.perf_counter()
            conn = db.session.connection()
            conn.exec_driver_sql(TENANTS_SQL, {"tenants": tenants})
            conn.exec_driver_sql(USERS_SQL, {"hash": hash_password(PASSWORD)})
            conn.exec_driver_sql(CONTACTS_SQL)
            conn.exec_driver_sql(LOOKUP_SQL)
            db.session.commit()
            print(f"  {tenants:,} workspaces, users and {tenants * CONTACTS:,} contacts "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            conn = db.session.connection()
            for start in range(1, messages + 1, BATCH):
                stop = min(messages, start + BATCH - 1)
                conn.exec_driver_sql(MESSAGES_SQL, {"tenants": tenants, "start": start, "stop": stop})
                db.session.commit()
                conn = db.session.connection()
                print(f"  messages {stop:,}/{messages:,} ({time.perf_counter() - started:.0f} s)", flush=True)
            conn.exec_driver_sql("DROP TABLE bench_lookup")
            db.session.commit()
        started = time.perf_counter()
        upgrade(directory=migrations)  # 0014's indexes built on the full tables
        from models import User
        from services.accounts import sign_up

        if db.session.scalar(select(func.count(User.id)).where(User.email == ADMIN_EMAIL)) == 0:
            sign_up(ADMIN_EMAIL, PASSWORD, "Platform administration", is_admin=True)
            db.session.commit()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                                 f"EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {APP_ROLE}")
        print(f"  migrations to head and ANALYZE: {time.perf_counter() - started:.0f} s", flush=True)
        db.engine.dispose()


def main() -> int:
    """Build the dataset if needed, roll usage up, then time the admin tenants list and a workspace's analytics."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in total, spread evenly")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-admin-"))
    build_dataset(args.tenants, args.messages, tmp)
    app = app_as_role(tmp)

    from sqlalchemy import func, select

    from extensions import db
    from models import PlatformDay
    from services.admin.rollup import RECENT_DAYS, refresh_stats, roll_up_days

    with app.app_context():
        started = time.perf_counter()
        filled = db.session.scalar(select(func.count(PlatformDay.id)).where(PlatformDay.day < date.today()
                                                                            - timedelta(days=RECENT_DAYS)))
        if not filled:  # once per database: `flask usage-rollup` over every day of the data, as after an upgrade
            written = roll_up_days(days=60, count_days=60)
            db.session.commit()
            print(f"usage rollup history (once): {written:,} workspace-days in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        written = refresh_stats()
        db.session.commit()
        print(f"usage rollup (every 10 minutes in production): {written:,} workspaces in "
              f"{(time.perf_counter() - started) * 1000:.0f} ms", flush=True)

    admin = app.test_client()
    assert admin.post("/login", data={"email": ADMIN_EMAIL, "password": PASSWORD}).status_code == 303
    owner = app.test_client()
    assert owner.post("/login", data={"email": "owner1@bench.test", "password": PASSWORD}).status_code == 303
    print(f"admin: {args.tenants:,} workspaces, {args.messages:,} messages "
          f"(~{args.messages // args.tenants:,} per workspace), as {APP_ROLE} with row-level security, "
          f"Flask test client, {args.rounds} rounds", flush=True)

    def get(client, url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return call

    for label, url in {"/admin/tenants (newest first)": "/admin/tenants",
                       "/admin/tenants?sort=sent_30d (busiest)": "/admin/tenants?sort=sent_30d",
                       "/admin/tenants?q=workspace 1234 (search)": "/admin/tenants?q=workspace%201234",
                       "/admin/tenants?page=30 (deep page)": "/admin/tenants?sort=name&dir=asc&page=30"}.items():
        measure(label, get(admin, url), args.rounds, target_ms=200)
    measure("/analytics/ (a workspace, last 30 days)", get(owner, "/analytics/"), args.rounds, target_ms=300)
    measure("/admin/analytics (the platform, last 30 days)", get(admin, "/admin/analytics"), args.rounds,
            target_ms=300)
    measure("/admin/tenants/<id> (tenant page)", get(admin, "/admin/tenants/1"), args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
