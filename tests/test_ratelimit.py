"""The GCRA send-rate limiter against a real Redis."""
from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
import redis

from services.ratelimit import (
    CLOUD_DEFAULT_RATE,
    LINKED_DEVICE_JITTER,
    LINKED_DEVICE_RATE,
    SANDBOX_RATE,
    RateLimiter,
    channel_rate,
)


@pytest.fixture
def conn(redis_url):
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def prefix():
    """A fresh prefix per test, so tests never see each other's keys and nothing needs flushing."""
    return f"test:rate:{uuid.uuid4().hex}"


@pytest.fixture
def limiter(conn, prefix):
    return RateLimiter(conn, prefix)


def test_first_call_is_allowed(limiter):
    assert limiter.try_acquire("ch", 1.0) == 0.0


def test_burst_goes_back_to_back_then_waits_one_interval(limiter):
    rate, burst = 10.0, 5
    assert [limiter.try_acquire("ch", rate, burst) for _ in range(burst)] == [0.0] * burst
    wait = limiter.try_acquire("ch", rate, burst)
    # About 1/rate, less whatever time the calls above took.
    assert 0.05 < wait <= 0.1 + 1e-6


def test_denied_call_reserves_nothing(limiter):
    assert limiter.try_acquire("ch", 1.0) == 0.0
    first = limiter.try_acquire("ch", 1.0)
    second = limiter.try_acquire("ch", 1.0)
    # Had the denial pushed the schedule back, the second wait would be about a second longer.
    assert 0 < second <= first <= 1.0 + 1e-6


def test_allowed_again_after_waiting(limiter):
    assert limiter.try_acquire("ch", 20.0) == 0.0
    wait = limiter.try_acquire("ch", 20.0)
    assert 0 < wait <= 0.05 + 1e-6
    time.sleep(wait + 0.002)
    assert limiter.try_acquire("ch", 20.0) == 0.0
    assert limiter.try_acquire("ch", 20.0) > 0


def test_two_processes_share_one_limit(redis_url, prefix):
    conn_a, conn_b = redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url)
    try:
        worker_a, worker_b = RateLimiter(conn_a, prefix), RateLimiter(conn_b, prefix)
        assert worker_a.try_acquire("ch", 1.0, 2) == 0.0
        assert worker_b.try_acquire("ch", 1.0, 2) == 0.0
        assert worker_a.try_acquire("ch", 1.0, 2) > 0
        assert worker_b.try_acquire("ch", 1.0, 2) > 0
    finally:
        conn_a.close()
        conn_b.close()


def test_concurrent_workers_never_exceed_the_burst(redis_url, prefix):
    """Eight threads on their own connections race for one key; the script must grant exactly `burst`."""
    burst, granted, lock = 5, [], threading.Lock()
    start = threading.Barrier(8)

    def worker():
        connection = redis.Redis.from_url(redis_url)
        try:
            mine = RateLimiter(connection, prefix)
            start.wait()
            wins = sum(mine.try_acquire("ch", 0.5, burst) == 0.0 for _ in range(25))
            with lock:
                granted.append(wins)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(granted) == 8
    assert sum(granted) == burst


def test_keys_are_independent(limiter):
    assert limiter.try_acquire("a", 1.0) == 0.0
    assert limiter.try_acquire("a", 1.0) > 0
    assert limiter.try_acquire("b", 1.0) == 0.0


def test_prefixes_are_independent(conn, prefix):
    assert RateLimiter(conn, prefix + ":x").try_acquire("ch", 1.0) == 0.0
    assert RateLimiter(conn, prefix + ":y").try_acquire("ch", 1.0) == 0.0


def test_key_expires_once_idle(conn, prefix, limiter):
    rate, burst = 2.0, 3
    for _ in range(burst):
        limiter.try_acquire("ch", rate, burst)
    ttl_ms = conn.pttl(f"{prefix}:ch")
    # The TAT is at most `burst` intervals ahead, so the key must be gone by then.
    assert 0 < ttl_ms <= burst / rate * 1000 + 1
    assert conn.exists(f"{prefix}:other") == 0


def test_jitter_only_adds_to_the_wait(conn, prefix):
    seeded = RateLimiter(conn, prefix, rng=random.Random(7))
    rate = 1.0
    seeded.try_acquire("plain", rate)
    seeded.try_acquire("jittered", rate)
    plain = [seeded.try_acquire("plain", rate) for _ in range(10)]
    jittered = [seeded.try_acquire("jittered", rate, jitter=1.0) for _ in range(10)]
    # Without jitter the wait is at most one interval; jitter adds up to another interval on top.
    assert all(0 < w <= 1.0 + 1e-6 for w in plain)
    assert all(0 < w <= 2.0 + 1e-6 for w in jittered)
    assert sum(jittered) / len(jittered) > sum(plain) / len(plain) + 0.2
    assert max(jittered) > 1.0


def test_jitter_does_not_delay_an_allowed_send(limiter):
    assert limiter.try_acquire("ch", 1.0, jitter=1.0) == 0.0


def test_achieved_rate_stays_under_the_limit(limiter):
    """Half a second at 20/s with burst 2, sleeping the waits try_acquire returns (as a worker reschedules
    for them): never more than rate*window + burst sends."""
    rate, burst, window = 20.0, 2, 0.5
    times = []
    started = time.monotonic()
    while time.monotonic() - started < window:
        wait = limiter.try_acquire("ch", rate, burst)
        if wait:
            time.sleep(wait)
            continue
        times.append(time.monotonic() - started)
    sent = sum(1 for t in times if t <= window)
    assert sent <= rate * window + burst
    # Generous floor: a loaded 2-core machine can oversleep, but should not lose half the throughput.
    assert sent >= (rate * window + burst) * 0.5
    # Past the burst, sends are granted no faster than the rate; `started` precedes the first grant
    # and each timestamp follows its grant, so the measured span can only overstate the real one.
    achieved = (len(times) - burst) / times[-1]
    print(f"\nachieved {achieved:.2f}/s against {rate:g}/s after a burst of {burst}; "
          f"{sent} sends in {window}s (limit {rate * window + burst:g})")
    assert achieved <= rate * 1.01
    assert achieved >= rate * 0.5


@pytest.mark.parametrize("rate", [0, -1, 1000.5, float("nan"), float("inf"), "5", True])
def test_invalid_rate_is_rejected(limiter, rate):
    with pytest.raises(ValueError):
        limiter.try_acquire("ch", rate)


@pytest.mark.parametrize("burst", [0, -3, 1.5])
def test_invalid_burst_is_rejected(limiter, burst):
    with pytest.raises(ValueError):
        limiter.try_acquire("ch", 1.0, burst)


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_invalid_jitter_is_rejected(limiter, jitter):
    with pytest.raises(ValueError):
        limiter.try_acquire("ch", 1.0, jitter=jitter)


def test_invalid_call_touches_no_key(conn, prefix, limiter):
    with pytest.raises(ValueError):
        limiter.try_acquire("ch", 0)
    assert conn.exists(f"{prefix}:ch") == 0


def test_edge_rates_are_accepted(limiter):
    assert limiter.try_acquire("fast", 1000.0) == 0.0
    assert limiter.try_acquire("slow", 0.001) == 0.0
    assert 999 < limiter.try_acquire("slow", 0.001) <= 1000.0 + 1e-6


def test_channel_rates():
    assert channel_rate("cloud", None) == (CLOUD_DEFAULT_RATE, 8, 0.0)
    assert channel_rate("cloud", 0) == (CLOUD_DEFAULT_RATE, 8, 0.0)
    assert channel_rate("cloud", 250) == (250.0, 25, 0.0)
    assert channel_rate("cloud", 5000) == (1000.0, 100, 0.0)
    assert channel_rate("cloud", 0.2) == (1.0, 1, 0.0)
    assert channel_rate("cloud", 15) == (15.0, 1, 0.0)
    assert channel_rate("gateway", 50) == (LINKED_DEVICE_RATE, 1, LINKED_DEVICE_JITTER)
    assert channel_rate("sandbox", None) == (SANDBOX_RATE, 8, 0.0)
    with pytest.raises(ValueError):
        channel_rate("sms", None)


def test_channel_rates_are_valid_limiter_arguments(limiter):
    for kind in ("cloud", "gateway", "sandbox"):
        rate, burst, jitter = channel_rate(kind, None)
        assert limiter.try_acquire(kind, rate, burst, jitter=jitter) == 0.0
