"""How jobs get an app, a database session and a tenant scope."""
from __future__ import annotations

import functools
from typing import Any, Callable

from flask import Flask, current_app, has_app_context
from rq import Queue

from extensions import db, get_redis
from models.tenancy import tenant_scope

_worker_app: Flask | None = None


def worker_app() -> Flask:
    """The app a worker process runs jobs in (built once per process from the environment)."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def _run_in_app(func: Callable, *args, **kwargs) -> Any:
    if has_app_context():
        return func(*args, **kwargs)
    with worker_app().app_context():
        try:
            return func(*args, **kwargs)
        finally:
            db.session.remove()


def app_job(func: Callable) -> Callable:
    """Run an install-wide job inside an app context with its own session."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _run_in_app(func, *args, **kwargs)

    return wrapper


def tenant_job(func: Callable) -> Callable:
    """Run a job as the tenant named by its first argument, `tenant_id` (fail closed without it)."""

    @functools.wraps(func)
    def wrapper(tenant_id: int, *args, **kwargs):
        def scoped():
            with tenant_scope(tenant_id):
                return func(tenant_id, *args, **kwargs)

        return _run_in_app(scoped)

    return wrapper


def queue(name: str = "default") -> Queue:
    """An RQ queue on the app's Redis."""
    return Queue(name, connection=get_redis())
