"""Unbound extension singletons, bound to an app in `init_app`."""
from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from redis import Redis
from sqlalchemy import MetaData

# Stable constraint names make migrations reproducible on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class AppSession(FlaskSession):
    """The session class of `db`: the app's ORM listeners attach here (models.init_app), not globally."""


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION), session_options={"class_": AppSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window")


def limiter_storage_uri(redis_url: str) -> str:
    """Translate a redis-py URL into the `limits` storage URI (unix sockets use redis+unix)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def get_redis() -> Redis:
    """The app's Redis connection (one pool per process)."""
    return current_app.extensions["messagehub.redis"]


def init_app(app: Flask) -> None:
    """Bind every extension to `app`."""
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    csrf.init_app(app)

    redis_url = app.config["REDIS_URL"]
    app.extensions["messagehub.redis"] = Redis.from_url(redis_url)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(redis_url))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis down must not lock everybody out: limits move to process memory until it is back,
    # and any other limiter error is logged instead of failing the request.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # An unreachable Redis should cost a login a moment, not a TCP timeout.
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 2})
    limiter.init_app(app)
