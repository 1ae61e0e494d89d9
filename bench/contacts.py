"""Contacts list and search at 1,000,000 contacts: 10 workspaces x 100,000, timed as one logged-in user.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_bench_contacts REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.contacts [--tenants 10 --contacts 100000 --rounds 40 --explain]

The dataset is built once per database, as the owner, with INSERT ... SELECT generate_series (about two
tag links per contact) at the head migration (sign-up needs today's schema), then ANALYZE. Requests go
through the Flask test client as a user of the first workspace, connected as the app role (no superuser,
no BYPASSRLS), so row-level security is paid for exactly as the tests and production pay it. Prints p50/p95
per URL; `--explain` also prints the plan of every contacts query each URL runs. PostgreSQL only: SQLite has
neither the data volume nor the indexes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

APP_ROLE = "messagehub_app"
PASSWORD = "bench-password-1"
TAGS_PER_TENANT = 20
FIRST = ("Ana Bruno Carla Diego Elena Fabio Greta Hugo Ines Jonas Karin Luca Marta Nuno Olga Pedro Quinn Rosa Sven "
         "Tania Ugo Vera Wim Xenia Yara Zeno Alma Bento Clara Dario Edite Filipe Gil Helga Ivo Joana Kai Lia Mateus "
         "Nadia Otto Paula Rui Sara Tomas Uma Vitor Wanda Yuri Zita").split()
LAST = ("Silva Santos Costa Pereira Oliveira Rodrigues Martins Ferreira Almeida Lopes Gomes Marques Ribeiro Pinto "
        "Carvalho Teixeira Moreira Correia Mendes Nunes Soares Vieira Monteiro Cardoso Rocha Neves Coelho Cruz Cunha "
        "Pires Ramos Reis Simoes Antunes Matos Fonseca Machado Araujo Barbosa Tavares Lourenco Castro Figueiredo "
        "Azevedo Freitas Henriques Baptista Miranda Campos Sousa").split()


def _sql_array(words) -> str:
    return "(ARRAY[" + ",".join(f"'{w}'" for w in words) + "])"


# One tenant's contacts: names from 50 x 50 pairs, unique phones, a third of emails at corp.test,
# city/plan custom fields, 2% opted out, a quarter wrote within the last 30 days, created over ~6 weeks.
CONTACTS_SQL = f"""
INSERT INTO contacts (tenant_id, name, phone, email, custom_fields, opted_out, last_inbound_at, conversation_status,
                      created_at, updated_at)
SELECT %(tenant)s, f || ' ' || l, '+1' || (2000000000 + (g::bigint * 7919) %% 7999999999)::text,
       lower(f) || '.' || g || '@' || (ARRAY['gmail.com','shop.test','corp.test'])[1 + g %% 3],
       json_build_object('city', (ARRAY['Lisbon','Porto','Madrid','Berlin','Paris'])[1 + g %% 5],
                         'plan', (ARRAY['gold','silver','free'])[1 + g %% 7 %% 3]),
       g %% 50 = 0, CASE WHEN g %% 4 = 0 THEN now() - (g %% 30) * interval '1 day' END, 'open',
       now() - g * interval '37 seconds', now()
FROM generate_series(1, %(count)s) AS g,
     LATERAL (SELECT {_sql_array(FIRST)}[1 + g %% {len(FIRST)}] AS f,
                     {_sql_array(LAST)}[1 + (g / {len(FIRST)}) %% {len(LAST)}] AS l) AS names
"""
TAGS_SQL = f"""
INSERT INTO tags (tenant_id, name, color, created_at, updated_at)
SELECT %(tenant)s, 'tag-' || n, '#336699', now(), now() FROM generate_series(1, {TAGS_PER_TENANT}) AS n
"""
# Every contact carries tag (id mod 20); most carry a second one too.
LINKS_SQL = f"""
WITH t AS (SELECT array_agg(id ORDER BY id) AS ids FROM tags WHERE tenant_id = %(tenant)s)
INSERT INTO contact_tags (tenant_id, contact_id, tag_id)
SELECT %(tenant)s, c.id, t.ids[1 + c.id %% {TAGS_PER_TENANT}] FROM contacts c, t WHERE c.tenant_id = %(tenant)s
UNION ALL
SELECT %(tenant)s, c.id, t.ids[1 + (c.id / {TAGS_PER_TENANT}) %% {TAGS_PER_TENANT}] FROM contacts c, t
WHERE c.tenant_id = %(tenant)s AND (c.id / {TAGS_PER_TENANT}) %% {TAGS_PER_TENANT} <> c.id %% {TAGS_PER_TENANT}
"""


def owner_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql://"):
        sys.exit("set DATABASE_URL to a PostgreSQL database of its own (the bench fills it with 1,000,000 contacts)")
    return "postgresql+psycopg://" + url[len("postgresql://"):]


def base_config(tmp: Path) -> dict:
    return {"MESSAGEHUB_INSTANCE": str(tmp), "SECRET_KEY": "bench-" + "k" * 40, "WTF_CSRF_ENABLED": False,
            "MESSAGEHUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PUBLIC_BASE_URL": "http://bench",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"),
            "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "RATELIMIT_ENABLED": False}


def build_dataset(tenants: int, contacts: int, tmp: Path) -> None:
    """Migrate and fill the database once (as the owner); a database already filled is kept as it is."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from extensions import db
    from models import Tenant
    from services.accounts import sign_up

    app = create_app({**base_config(tmp), "SQLALCHEMY_DATABASE_URI": owner_url()})
    migrations = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=migrations)
        have = db.session.scalar(select(func.count(Tenant.id)).where(Tenant.name.like("Bench %")))
        if not have:
            started = time.perf_counter()
            for n in range(tenants):
                user = sign_up(f"bench{n}@example.com", PASSWORD, f"Bench {n}")
                db.session.flush()
                conn = db.session.connection()
                for sql in (CONTACTS_SQL, TAGS_SQL, LINKS_SQL):
                    conn.exec_driver_sql(sql, {"tenant": user.tenant_id, "count": contacts})
                db.session.commit()
                print(f"  workspace {n + 1}/{tenants}: {contacts:,} contacts "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
        started = time.perf_counter()
        upgrade(directory=migrations)  # nothing left to run unless the data was built at an older head
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                                 f"EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        print(f"  migrations to head and ANALYZE: {time.perf_counter() - started:.0f} s", flush=True)
        db.engine.dispose()


def app_as_role(tmp: Path):
    """The app connected as the app role, as production runs it."""
    from sqlalchemy.engine import make_url

    from app import create_app

    url = make_url(owner_url()).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
    return create_app({**base_config(tmp), "SQLALCHEMY_DATABASE_URI": url})


def logged_in_client(app, tenant_number: int = 0):
    client = app.test_client()
    response = client.post("/login", data={"email": f"bench{tenant_number}@example.com", "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    return client


def print_load() -> None:
    """The machine's load average: figures taken on a busy shared machine say so."""
    print("load average (1, 5, 15 min): " + ", ".join(f"{n:.2f}" for n in os.getloadavg())
          + f" on {os.cpu_count()} CPUs", flush=True)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(label: str, call: Callable[[], object], rounds: int, target_ms: float | None = None) -> None:
    """Time `call` `rounds` times after two warm-ups; print p50/p95 (and the target when there is one)."""
    for _ in range(2):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentiles(samples)
    verdict = "" if target_ms is None else ("met" if p95 <= target_ms else "MISSED")
    target = f"   target p95 <= {target_ms:.0f} ms: {verdict}" if verdict else ""
    print(f"{label:<44} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms{target}", flush=True)


def capture_statements(app, call: Callable[[], object]) -> list[tuple[str, object]]:
    """The SQL statements (with parameters) `call` sends, for EXPLAIN."""
    from sqlalchemy import event

    from extensions import db

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        # A planner setting the request makes (not the tenant's settings): replayed as is.
        planner = "set_config(" in statement and "app.tenant_id" not in statement
        if statement.lstrip().upper().startswith("SELECT") and ("set_config" not in statement or planner):
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def explain(app, tenant_id: int, label: str, call: Callable[[], object], tables=("contacts", "contact_tags")) -> None:
    """Print the plan (EXPLAIN ANALYZE, as the app role in the tenant's scope) of each query `call` runs."""
    from extensions import db
    from models.tenancy import tenant_scope

    statements = [s for s in capture_statements(app, call)
                  if any(f"FROM {t}" in s[0] for t in tables) or "set_config(" in s[0]]
    with app.app_context(), tenant_scope(tenant_id):
        conn = db.session.connection()
        for statement, parameters in statements:
            if "FROM " not in statement:
                conn.exec_driver_sql(statement, parameters)
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + statement,
                                        parameters).scalars().all()
            print(f"\n-- {label}\n{' '.join(statement.split())[:300]}\n  " + "\n  ".join(plan))
        db.session.rollback()


def tenant_of(app, number: int = 0) -> int:
    from sqlalchemy import select

    from extensions import db
    from models import User

    with app.app_context():
        return db.session.scalar(select(User.tenant_id).where(User.email == f"bench{number}@example.com"))


def main() -> int:
    """Build the dataset if needed, then time the contacts list as one workspace's user."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts per workspace")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="print the plan of every contacts query")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-contacts-"))
    build_dataset(args.tenants, args.contacts, tmp)
    app = app_as_role(tmp)
    client = logged_in_client(app)
    tenant_id = tenant_of(app)
    with app.app_context():
        from sqlalchemy import select

        from extensions import db
        from models import Contact, Tag
        from models.tenancy import tenant_scope
        from services.paging import Cursor

        with tenant_scope(tenant_id):
            middle = select(Contact.phone, Contact.email).order_by(Contact.id).offset(args.contacts // 2 + 17)
            sample = db.session.execute(middle.limit(1)).one()
            # Where page 2,000 of the list starts: Next reaches it with a cursor holding this row's position.
            newest_first = select(Contact.created_at, Contact.id).order_by(Contact.created_at.desc(),
                                                                          Contact.id.desc())
            deep = db.session.execute(newest_first.offset(1999 * 25 - 1).limit(1)).one()
            tag_id = db.session.scalar(select(Tag.id).order_by(Tag.id).limit(1))
            total = db.session.scalar(select(db.func.count(Contact.id)))
    urls = {
        "/contacts/ (first page)": "/contacts/",
        "/contacts/?q=greta (name)": "/contacts/?q=greta",
        f"/contacts/?q={sample.phone[-7:]} (phone)": f"/contacts/?q={sample.phone[-7:]}",
        f"/contacts/?q={sample.email.split('@')[0]} (email)": f"/contacts/?q={sample.email.split('@')[0]}",
        "/contacts/?tag=<~10% of contacts> (tag)": f"/contacts/?tag={tag_id}",
        "/contacts/?after=<row 49,975> (page 2000)": f"/contacts/?after={Cursor(*deep).token()}",
        "/contacts/?before=<row 50,001> (Previous)": f"/contacts/?before={Cursor(*deep).token()}",
        "/contacts/?page=40 (deepest numbered page)": "/contacts/?page=40",
    }
    print(f"contacts list: {total:,} contacts in the workspace, {args.tenants} workspaces, as {APP_ROLE} with "
          f"row-level security, Flask test client, {args.rounds} rounds", flush=True)
    print_load()

    def get(url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return call

    for label, url in urls.items():
        measure(label, get(url), args.rounds, target_ms=50)
    print_load()
    if args.explain:
        for label, url in urls.items():
            explain(app, tenant_id, label, get(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
