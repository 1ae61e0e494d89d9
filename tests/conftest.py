"""Shared fixtures: one migrated database and one Redis per run, cleaned between tests.

`DATABASE_URL` / `REDIS_URL` point the suite at real PostgreSQL and Redis (CI); unset, it
uses a SQLite file and an embedded Redis, like `make run`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from extensions import db
from models import User
from models.tenancy import tenant_scope
from services.accounts import sign_up
from whatsapp import async_http

TEST_PASSWORD = "correct-horse-42"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis for the run: REDIS_URL when given, otherwise an embedded one."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from embedded_redis import start_embedded_redis

    server, url = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    yield url
    server.shutdown(nosave=True)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """DATABASE_URL when given, otherwise a fresh SQLite file."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


APP_ROLE = "messagehub_app"


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


@pytest.fixture(scope="session")
def owner_engine(database_url):
    """The schema owner's connection: migrations and wiping between tests."""
    from sqlalchemy import create_engine

    engine = create_engine(_sqlalchemy_url(database_url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def base_config(redis_url, tmp_path_factory):
    """Configuration shared by every app the tests build, less the database."""
    return {
        "TESTING": True,
        "MESSAGEHUB_INSTANCE": str(tmp_path_factory.mktemp("instance")),
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "PUBLIC_BASE_URL": "http://testserver",
    }


@pytest.fixture(scope="session")
def _migrated(database_url, base_config, owner_engine):
    """Build the schema once through the real migrations, as the owner.

    On PostgreSQL the app then connects as a role that neither owns the tables nor is a
    superuser, so row-level security binds it exactly as in production.
    """
    app = create_app({**base_config, "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(database_url)})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.engine.dispose()
    if owner_engine.dialect.name != "postgresql":
        return _sqlalchemy_url(database_url)
    with owner_engine.begin() as conn:
        conn.execute(text(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                          f"EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"))
        # The audit log is append-only for the application (README › PostgreSQL roles).
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {APP_ROLE}"))
    return owner_engine.url.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app_config(base_config, _migrated):
    """Configuration of the apps under test (the app role's database URL on PostgreSQL)."""
    return {**base_config, "SQLALCHEMY_DATABASE_URI": _migrated}


def _wipe(app, owner_engine) -> None:
    """Empty every table (as the owner, beneath row-level security) and the Redis database."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    app.extensions["messagehub.redis"].flushdb()


@pytest.fixture
def make_app(app_config):
    """Factory for apps with extra config; every app shares the migrated database."""
    built = []

    def factory(**overrides):
        config = dict(app_config)
        config.update(overrides)
        app = create_app(config)
        built.append(app)
        return app

    yield factory
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_overrides():
    """Extra config for the `app` fixture; test folders override this fixture."""
    return {}


@pytest.fixture
def app(make_app, app_overrides, owner_engine):
    """A fresh app over an empty database."""
    from jobs.context import set_worker_app

    app = make_app(**app_overrides)
    with app.app_context():
        _wipe(app, owner_engine)
    set_worker_app(app)  # jobs called directly or by a test worker use this app, never the environment's
    yield app
    set_worker_app(None)
    with app.app_context():
        db.session.remove()
    async_http.reset()  # pooled connections to this test's fake servers must not reach the next test's


class CountingWorker:
    """Mixin counting the jobs a burst finished and failed (RQ 2 keeps no such count on the worker)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.finished_jobs = 0
        self.failed_jobs = 0

    def handle_job_success(self, job, queue, started_job_registry):
        self.finished_jobs += 1
        return super().handle_job_success(job, queue, started_job_registry)

    def handle_job_failure(self, job, queue, *args, **kwargs):
        self.failed_jobs += 1
        return super().handle_job_failure(job, queue, *args, **kwargs)


@pytest.fixture
def run_jobs(app):
    """Run every queued job on a real RQ worker in this process until the queues are empty.

    Returns how many jobs finished successfully in that burst.
    """
    from rq import SimpleWorker

    from services.queueing import ALL_QUEUES, queue

    class TestWorker(CountingWorker, SimpleWorker):
        pass

    def run(*names: str) -> int:
        with app.app_context():
            queues = [queue(n) for n in (names or ALL_QUEUES)]
            connection = app.extensions["messagehub.redis"]
        worker = TestWorker(queues, connection=connection)
        worker.work(burst=True, with_scheduler=False)
        return worker.finished_jobs

    return run


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def create_user(app):
    """Factory: sign up a tenant and its owner; returns the User (detached ids are safe to use)."""
    counter = {"n": 0}

    def factory(email: str | None = None, password: str = TEST_PASSWORD, tenant_name: str | None = None,
                **fields) -> User:
        counter["n"] += 1
        email = email or f"user{counter['n']}@example.com"
        with app.app_context():
            user = sign_up(email, password, tenant_name or f"Tenant {counter['n']}")
            for key, value in fields.items():
                setattr(user, key, value)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return factory


@pytest.fixture
def login(client):
    """Log `user` in through the real login form."""

    def do_login(user: User, password: str = TEST_PASSWORD, test_client=None):
        target = test_client or client
        response = target.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return target

    return do_login


@pytest.fixture
def in_tenant(app):
    """Context manager: app context + tenant scope, for arranging data directly."""
    from contextlib import contextmanager

    @contextmanager
    def scope(tenant_id: int):
        with app.app_context(), tenant_scope(tenant_id):
            yield db.session
            db.session.commit()

    return scope


def csrf_token_from(html: str) -> str:
    """Pull the CSRF token out of a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


@pytest.fixture
def live_server(app):
    """Serve `app` on 127.0.0.1 (ephemeral port); PUBLIC_BASE_URL points at it so webhooks reach it."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    yield url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def someone_listens():
    """A consumer of every domain event kind with no interest check: bulk paths write events nobody else wants."""
    from services import events

    def listen(event):
        pass

    events.consumer(*events.KINDS)(listen)
    yield listen
    for kind in events.KINDS:
        events._CONSUMERS[kind].remove(listen)


@pytest.fixture
def pg(app):
    """The app, in tests of what only PostgreSQL has (row-level security, grants, trigram and jsonb indexes)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a PostgreSQL feature; CI runs this on PostgreSQL")
    return app
