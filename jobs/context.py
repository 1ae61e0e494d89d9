"""How jobs get an app, a database session and a tenant scope.

A worker process is given its app by the entry module (`worker.AppWorker`), never by importing
the app factory from here: jobs sit below the web layer. Enqueueing lives in services.queueing.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context

from extensions import db
from models.tenancy import tenant_scope

_worker_app: Flask | None = None


def set_worker_app(app: Flask | None) -> None:
    """Use `app` for jobs run in this process (the worker entry at start-up; tests beside their app)."""
    global _worker_app
    _worker_app = app


def worker_app() -> Flask:
    """The app jobs of this process run in."""
    if _worker_app is not None:
        return _worker_app
    if has_app_context():
        return current_app._get_current_object()
    raise RuntimeError("no app for jobs in this process: run workers as `rq worker -w worker.AppWorker`")


def _run_in_app(func: Callable, *args, **kwargs) -> Any:
    """Each job gets its own app context, hence its own session (one session per job)."""
    app = worker_app()
    with app.app_context():
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
