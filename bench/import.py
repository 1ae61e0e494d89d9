"""A 100,000-row contacts CSV (5% bad rows) imported end to end on PostgreSQL: upload, mapping, the job.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_bench_import REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.import [--rows 100000 --tags 2 --existing 0 --mode create --profile]

Each run signs up a fresh workspace (quota raised to fit) in the given database, migrated as the owner, then acts
as its user through the Flask test client connected as the app role (row-level security paid as production
pays it): uploads the file, maps it, starts it, and runs the queued job on an RQ worker in this process until the
import is finished. `--existing N` adds N of the file's phones as contacts first (with `--mode upsert` they are
updated). Prints the time of each part and rows per second end to end (target >= 5,000 rows/s). PostgreSQL only.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.contacts import APP_ROLE, PASSWORD, app_as_role, base_config, owner_url, print_load  # noqa: E402

TARGET = 5000  # rows per second, end to end


def make_file(rows: int, tags: int) -> bytes:
    """The CSV: name, phone (every 20th one bad), email, `tags` tags and a custom field."""
    lines = ["name,phone,email,tags,city"]
    for n in range(rows):
        phone = f"+1415{2000000 + n:07d}" if n % 20 else f"55{n}"
        labels = ", ".join(["imported", f"batch-{n % 4}"][:tags])
        lines.append(f"Person {n},{phone},p{n}@example.com,\"{labels}\",City {n % 50}")
    return ("\r\n".join(lines) + "\r\n").encode()


def prepare(email: str, rows: int, existing: int, tmp: Path) -> None:
    """Migrate as the owner, grant the app role, and sign up the run's workspace (quota raised to fit the file)."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from services.accounts import sign_up

    app = create_app({**base_config(tmp), "SQLALCHEMY_DATABASE_URI": owner_url()})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = sign_up(email, PASSWORD, "Import bench")
        user.tenant.quota_contacts = rows + existing + 1000
        db.session.flush()
        if existing:
            db.session.connection().exec_driver_sql(
                "INSERT INTO contacts (tenant_id, name, phone, custom_fields, opted_out, conversation_status, "
                "created_at, updated_at) SELECT %(tenant)s, 'Known ' || n, '+1415' || (2000000 + n)::text, "
                "'{\"plan\": \"gold\"}', false, 'open', now(), now() FROM generate_series(1, %(count)s) AS n "
                "WHERE n %% 20 <> 0", {"tenant": user.tenant_id, "count": existing})
        db.session.commit()
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                                 f"EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
            conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        db.engine.dispose()


def run_worker(app) -> None:
    """Work the queues in this process until they are empty (the import's job and any it queues after itself)."""
    from rq import SimpleWorker

    from services.queueing import ALL_QUEUES, queue

    with app.app_context():
        queues = [queue(name) for name in ALL_QUEUES]
        connection = app.extensions["messagehub.redis"]
    SimpleWorker(queues, connection=connection).work(burst=True, with_scheduler=False)


def main() -> int:
    """Prepare the workspace, then time upload, mapping and the job, and print rows per second."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tags", type=int, choices=(0, 1, 2), default=2, help="tags per row in the file")
    parser.add_argument("--existing", type=int, default=0, help="phones of the file that are contacts already")
    parser.add_argument("--mode", choices=("create", "upsert"), default="create")
    parser.add_argument("--profile", action="store_true", help="print where the job's time goes (cProfile)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-import-"))
    email = f"import-{uuid.uuid4().hex[:10]}@example.com"
    data = make_file(args.rows, args.tags)
    prepare(email, args.rows, args.existing, tmp)
    app = app_as_role(tmp)
    from jobs.context import set_worker_app

    set_worker_app(app)
    with app.app_context():
        app.extensions["messagehub.redis"].flushdb()  # the bench's own Redis db: nothing queued from before
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 303
    print_load()
    print(f"import: {args.rows:,} rows ({len(data) / 1048576:.1f} MB, 5% bad, {args.tags} tags a row), "
          f"mode {args.mode}, {args.existing:,} phones known, as {APP_ROLE} with row-level security", flush=True)

    started = time.perf_counter()
    response = client.post("/contacts/import", data={"file": (io.BytesIO(data), "bench.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.status_code
    mapping_url = response.location
    uploaded = time.perf_counter()
    assert client.get(mapping_url).status_code == 200
    response = client.post(mapping_url, data={"column-0": "name", "column-1": "phone", "column-2": "email",
                                              "column-3": "tags", "column-4": "custom:city", "mode": args.mode})
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    show_url = response.location
    mapped = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run_worker, app)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    else:
        run_worker(app)
    finished = time.perf_counter()
    page = client.get(show_url).get_data(as_text=True)
    assert 'data-state="done"' in page, page[-3000:]

    with app.app_context():
        from sqlalchemy import func, select

        from extensions import db
        from models import Contact, ContactImport, User
        from models.tenancy import tenant_scope

        tenant_id = db.session.scalar(select(User.tenant_id).where(User.email == email))
        with tenant_scope(tenant_id):
            item = db.session.scalars(select(ContactImport).order_by(ContactImport.id.desc())).first()
            stored = db.session.scalar(select(func.count(Contact.id)))
    total = finished - started
    rate = args.rows / total
    print(f"  upload (stored, encoding/delimiter detected, rows counted): {uploaded - started:6.2f} s")
    print(f"  mapping page + start (checks, queued):                     {mapped - uploaded:6.2f} s")
    print(f"  job (read, validate, write in chunks of 2,000):            {finished - mapped:6.2f} s")
    print(f"  end to end: {total:.2f} s = {rate:,.0f} rows/s (target >= {TARGET:,}) "
          f"{'OK' if rate >= TARGET else 'BELOW TARGET'}")
    print(f"  result: {item.rows_done:,} rows done, {item.created:,} created, {item.updated:,} updated, "
          f"{item.errors:,} refused; {stored:,} contacts stored", flush=True)
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
