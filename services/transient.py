"""Telling passing failures (a deadlock, a dropped connection, Redis away) from lasting ones."""
from __future__ import annotations

import sqlite3

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, DisconnectionError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATE classes and codes worth another try: connection exceptions, serialization failure,
# deadlock, lock timeout, operator intervention (server shutting down, connection terminated).
_RETRY_STATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
_RETRY_CLASSES = {"08"}


def is_transient(exc: BaseException) -> bool:
    """True when running the same work again later can succeed without anyone changing anything."""
    for error in _chain(exc):
        if isinstance(error, (RedisConnectionError, RedisTimeoutError, PendingRollbackError, DisconnectionError,
                              PoolTimeout, ConnectionError, TimeoutError)):
            return True
        if isinstance(error, DBAPIError):
            if error.connection_invalidated:
                return True
            if _transient_driver_error(error.orig):
                return True
    return False


def _transient_driver_error(orig) -> bool:
    state = getattr(orig, "sqlstate", None)
    if state:
        return state in _RETRY_STATES or state[:2] in _RETRY_CLASSES
    # SQLite has one writer; "database is locked" clears once the other writer commits.
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


def _chain(exc: BaseException):
    """The exception and its causes, each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
