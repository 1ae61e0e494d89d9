"""The pooled HTTP client webhooks go out on: it connects only to addresses it has just checked.

httpx resolves and connects inside httpcore's network backend, so the check sits there: the backend resolves
the host once, refuses the connection unless every address passes (addresses.checked_addresses), and opens
the socket to one of those same addresses. TLS still verifies the certificate for the host name (the SNI and
Host header are the name), so pinning the address costs nothing in authenticity. No proxies from the
environment (they would connect on our behalf, unchecked) and no redirects (a 3xx is an answer, not a hop).
"""
from __future__ import annotations

import os
import threading

import httpcore
import httpx

from services.outbound_webhooks.addresses import checked_addresses

# Short: a worker waits on each receiver in turn, and a slow receiver is retried later anyway.
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)

_lock = threading.Lock()
_clients: dict[bool, httpx.Client] = {}
_clients_pid: int | None = None


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous sockets, opened only to checked addresses of the requested host."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        """Resolve `host`, refuse unless every address may be called, connect to the first that answers."""
        last_error: Exception | None = None
        for ip in checked_addresses(host, port, self.allow_private):
            try:
                return self._sockets.connect_tcp(str(ip), port, timeout=timeout, local_address=local_address,
                                                 socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address of {host} answered")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover - never asked for
        raise httpcore.ConnectError("webhooks do not use unix sockets")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore's retries are off
        self._sockets.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses GuardedBackend."""

    def __init__(self, allow_private: bool):
        super().__init__(limits=LIMITS, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections, keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=GuardedBackend(allow_private))


def get_client(allow_private: bool) -> httpx.Client:
    """This process's pooled client for the given setting (made on first use, forgotten after a fork)."""
    global _clients_pid
    with _lock:
        if _clients_pid != os.getpid():
            _clients.clear()  # a forked worker must not share its parent's sockets
            _clients_pid = os.getpid()
        client = _clients.get(allow_private)
        if client is None or client.is_closed:
            client = _clients[allow_private] = httpx.Client(
                transport=GuardedTransport(allow_private), timeout=TIMEOUT, follow_redirects=False,
                trust_env=False, headers={"User-Agent": "MessageHub-Webhooks/1"})
        return client


def reset_clients() -> None:
    """Close and forget the pooled clients (tests whose receivers come and go)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
