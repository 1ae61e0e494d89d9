"""Outbound webhook fixtures: a real HTTP receiver on loopback, and an install that may reach it."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.outbound_webhooks.transport import reset_clients


class Receiver:
    """A loopback HTTP server that records every request and answers with the next queued status (200 after)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = json.dumps({"received": len(receiver.requests)}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def app_overrides():
    """The receiver listens on loopback over plain http: this install allows it."""
    return {"OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": True}


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
    reset_clients()  # pooled connections to this receiver must not reach the next test's
