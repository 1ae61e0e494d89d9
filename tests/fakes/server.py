"""A real HTTP server on 127.0.0.1 that records requests and fails on demand.

The fake Graph API, the fake gateway and the webhook sink all build on it, so the
adapters are tested over genuine loopback HTTP rather than with a mocked client.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Any, dict[str, str]]   # (status, JSON-able body or bytes, extra headers)


class _BusyServer(ThreadingHTTPServer):
    """A threading server with a listen backlog for hundreds of clients (Python's default is 5)."""

    request_queue_size = 1024


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]            # lower-cased names
    body: bytes
    json: Any = None


@dataclass
class _Failure:
    status: int
    error_code: int | None
    remaining: int
    retry_after: float | None
    extra: dict[str, Any] = field(default_factory=dict)


class FakeServer:
    """Base class: subclasses implement `route(request) -> Reply`."""

    def __init__(self, *, latency: float = 0.0):
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self.down: str | None = None            # None, "error" (HTTP 500) or "refuse"
        self._failures: list[_Failure] = []
        self._late: list[float] = []            # answer delays for the next requests (answer_late)
        self._lock = threading.Lock()
        self._httpd: _BusyServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int = 0

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeServer:
        """Bind an ephemeral port (or the previous one after `go_down('refuse')`) and serve."""
        self._httpd = _BusyServer(("127.0.0.1", self.port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL such as http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self.port}"

    def go_down(self, mode: str = "refuse") -> None:
        """'refuse': close the port so connects fail; 'error': answer every request with 500."""
        self.down = mode
        if mode == "refuse":
            self.stop()

    def come_up(self) -> None:
        """Serve normally again on the same port."""
        was_refusing = self.down == "refuse"
        self.down = None
        if was_refusing:
            self.start()

    # -- failure injection ---------------------------------------------------------

    def fail_next(self, status: int, error_code: int | None = None, count: int = 1, *,
                  retry_after: float | None = None, **extra: Any) -> None:
        """Answer the next `count` requests with `status` (and a provider error body)."""
        with self._lock:
            self._failures.append(_Failure(status, error_code, count, retry_after, extra))

    def answer_late(self, seconds: float, count: int = 1) -> None:
        """Handle the next `count` requests at once but answer each `seconds` late (beyond a client's timeout)."""
        with self._lock:
            self._late.extend([seconds] * count)

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
            return failure

    def error_body(self, status: int, error_code: int | None, extra: dict[str, Any]) -> Any:
        """Body of an injected failure; subclasses speak their provider's error format."""
        return {"error": {"status": status, "code": error_code}}

    def route(self, request: RecordedRequest) -> Reply:
        """Answer one request; overridden by each fake."""
        return 404, {"error": "not found"}, {}

    def last(self, method: str | None = None, path_contains: str = "") -> RecordedRequest:
        """Most recent recorded request matching method and path fragment."""
        for request in reversed(self.requests):
            if (method is None or request.method == method) and path_contains in request.path:
                return request
        raise AssertionError(f"no {method or ''} request containing {path_contains!r}")

    # -- plumbing ------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parsed = None
        if raw and "json" in (handler.headers.get("Content-Type") or ""):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        request = RecordedRequest(
            method=handler.command, path=split.path,
            query={k: v[-1] for k, v in parse_qs(split.query).items()},
            headers={k.lower(): v for k, v in handler.headers.items()}, body=raw, json=parsed)
        if self.down == "refuse":
            # A keep-alive connection opened before the port closed: drop it unanswered.
            handler.close_connection = True
            return
        with self._lock:
            self.requests.append(request)
        if self.latency:
            time.sleep(self.latency)
        failure = None if self.down == "error" else self._take_failure()
        if self.down == "error":
            reply: Reply = (500, {"error": "Internal Server Error"}, {})
        elif failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            reply = (failure.status, self.error_body(failure.status, failure.error_code, failure.extra),
                     headers)
        else:
            reply = self.route(request)
        with self._lock:
            late = self._late.pop(0) if self._late else 0.0
        if late:
            time.sleep(late)  # the request took effect (a message was accepted); only its answer is late
        self._write(handler, *reply)

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, bytes):
            data, ctype = body, headers.pop("Content-Type", "application/octet-stream")
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up (a timeout test); nothing left to tell it

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            """Hands every request to the owning fake."""

            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without this, Nagle plus the
            # client's delayed ACK adds ~40 ms to every response.
            disable_nagle_algorithm = True

            def do_GET(self):
                """Record and answer the request."""
                server._dispatch(self)

            do_POST = do_DELETE = do_PUT = do_GET

            def log_message(self, format, *args):
                """Stay quiet so test output shows only failures."""
                return

        return Handler


class WebhookSink(FakeServer):
    """Receives webhooks (what the app's webhook endpoint would) and answers 200."""

    def route(self, request: RecordedRequest) -> Reply:
        """Accept anything."""
        return 200, {"ok": True}, {}

    def payloads(self, event: str | None = None) -> list[Any]:
        """JSON bodies received so far, optionally only those with this `event`."""
        return [r.json for r in self.requests
                if r.json is not None and (event is None or r.json.get("event") == event)]
