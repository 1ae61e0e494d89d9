"""Many provider requests in flight from one worker: an event loop thread and a pooled aiohttp session.

A worker runs jobs one after another in one thread; the sends of a batch run on an event loop in a
thread of their own, kept (with its pooled connections) from job to job and forgotten after a fork.
The job's thread hands the loop a batch with `pump` and reads each outcome as it arrives, so it can
record provider ids while later sends are still on the wire.

aiohttp, not httpx: measured with bench/http_client.py at 200 requests in flight against a server
answering in 100 ms, httpx.AsyncClient reached ~55 requests/s here and aiohttp ~1,000/s.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import os
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import Any

import aiohttp

from .base import MaybeSent, RetryableError

CONNECTIONS = 400  # a 1,000/s channel at ~100 ms latency keeps ~100 in flight; room for slow answers
TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)
# What `pump` puts for a send it never started (a retryable error told it to stop), and when it is done.
HELD = object()
DONE = object()

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_session: aiohttp.ClientSession | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    """This process's sending loop, started on first use."""
    global _loop, _loop_pid, _session
    with _lock:
        if _loop is None or _loop_pid != os.getpid() or _loop.is_closed():
            _loop, _loop_pid, _session = asyncio.new_event_loop(), os.getpid(), None
            threading.Thread(target=_loop.run_forever, name="sends", daemon=True).start()
        return _loop


def submit(coroutine: Awaitable[Any]) -> Future:
    """Run `coroutine` on the sending loop; returns a future the calling thread can wait on."""
    return asyncio.run_coroutine_threadsafe(coroutine, _event_loop())


def _client() -> aiohttp.ClientSession:
    """The pooled session (created on the loop, on first use)."""
    global _session
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS, ttl_dns_cache=300),
                                         timeout=TIMEOUT)
    return _session


async def post_json(url: str, body: dict[str, Any], headers: dict[str, str], *,
                    what: str) -> tuple[int, Any, str | None]:
    """POST `body`; returns (status, parsed JSON or None, Retry-After header).

    A request that could not connect never left: RetryableError. One that failed after it was
    written (a dropped connection, no answer in time) may have reached the provider: MaybeSent,
    which the caller must never send again automatically.
    """
    try:
        async with _client().post(url, json=body, headers=headers) as response:
            raw = await response.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return response.status, parsed, response.headers.get("Retry-After")
    except aiohttp.ClientConnectorError as exc:
        raise RetryableError(f"Could not reach {what} - it will be retried", code="unreachable",
                             details=type(exc).__name__) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise MaybeSent(f"{what} did not answer ({type(exc).__name__}) after the message was sent, so it may "
                        "have been received", code="no_answer", details=type(exc).__name__) from None


async def pump(sends: Sequence[tuple[float, Any, Callable[[], Awaitable[Any]]]], results: queue.Queue, *,
               halt: threading.Event | None = None) -> None:
    """Start each send at its slot (`sends`: (seconds from now, key, coroutine factory), soonest first).

    Each outcome is put on `results` as (key, value or exception) the moment it is known. After a
    retryable error (rate limit, provider trouble) the sends not started yet are not started:
    they come back as (key, HELD). `DONE` follows the last outcome. Pumps sharing a `halt` event
    stop together: a retryable error in one sets it, and the others start nothing more.
    """
    loop = asyncio.get_running_loop()
    started, stop, tasks = loop.time(), asyncio.Event(), []
    halt = halt or threading.Event()

    def finished(key: Any, task: asyncio.Task) -> None:
        error = MaybeSent("The send was interrupted", code="cancelled") if task.cancelled() else task.exception()
        if isinstance(error, RetryableError):
            halt.set()
            stop.set()
        results.put((key, error if error is not None else task.result()))

    try:
        for at, key, make in sends:
            delay = started + at - loop.time()
            if delay > 0 and not stop.is_set():
                try:  # the earlier sends are in flight meanwhile; a retryable error ends the wait at once
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
            if stop.is_set() or halt.is_set():
                results.put((key, HELD))
                continue
            task = loop.create_task(make())
            task.add_done_callback(lambda t, key=key: finished(key, t))
            tasks.append(task)
        if tasks:
            await asyncio.wait(tasks)
    finally:
        results.put(DONE)


def reset() -> None:
    """Close the pooled connections (on the loop that owns them); the next send opens new ones."""
    global _session
    loop, session, _session = _loop, _session, None
    if loop is not None and _loop_pid == os.getpid() and loop.is_running() and session is not None:
        try:
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)
        except Exception:
            pass  # a connection that will not close is dropped with the session


def _after_fork_in_child() -> None:
    # The loop's thread did not survive the fork; the child starts its own on first use.
    global _loop, _loop_pid, _session
    _loop, _loop_pid, _session = None, None, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(reset)
