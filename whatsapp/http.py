"""The process-wide pooled HTTP client every WhatsApp adapter uses by default.

One client per process keeps TLS connections to graph.facebook.com and the gateway
warm across jobs. It is created lazily so importing this module (or constructing a
provider) never opens a socket, and it is dropped after fork so a worker never
shares pooled sockets with its parent.
"""
from __future__ import annotations

import os
import threading

import httpx

# Connect fast-fails an unreachable host; read allows a slow Graph/gateway answer
# (media uploads, gateway QR generation) without tying up a worker for long.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0, read=15.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20)

_lock = threading.Lock()
_client: httpx.Client | None = None
_client_pid: int | None = None


def get_client() -> httpx.Client:
    """Return the shared client, creating it on first use in this process."""
    global _client, _client_pid
    pid = os.getpid()
    client = _client
    if client is not None and _client_pid == pid and not client.is_closed:
        return client
    with _lock:
        if _client is None or _client_pid != pid or _client.is_closed:
            _client = httpx.Client(timeout=DEFAULT_TIMEOUT, limits=DEFAULT_LIMITS)
            _client_pid = pid
        return _client


def reset_client(*, close: bool = True) -> None:
    """Drop the shared client so the next call builds a fresh one (tests, after fork)."""
    global _client, _client_pid
    with _lock:
        old, _client, _client_pid = _client, None, None
    if old is not None and close:
        old.close()


def _after_fork_in_child() -> None:
    # Closing here would shut sockets the parent still uses (a TLS close_notify on a
    # shared connection corrupts the parent's stream), so the child only forgets them.
    reset_client(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
