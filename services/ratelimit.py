"""Per-channel send-rate limits shared by every worker, kept in Redis with GCRA."""
from __future__ import annotations

import math
import random

from redis import Redis

from whatsapp.base import Capabilities
from whatsapp.cloud import CloudProvider
from whatsapp.gateway import GatewayProvider
from whatsapp.sandbox import SandboxProvider

# Each provider declares its pace; these names are kept for the settings form and the tests.
CLOUD_DEFAULT_RATE = CloudProvider.capabilities.default_rate  # Meta's default throughput per number
CLOUD_MAX_RATE = CloudProvider.capabilities.max_rate  # the highest throughput Meta grants a number
LINKED_DEVICE_RATE = GatewayProvider.capabilities.default_rate
LINKED_DEVICE_JITTER = GatewayProvider.capabilities.send_jitter
SANDBOX_RATE = SandboxProvider.capabilities.default_rate

MAX_RATE = CLOUD_MAX_RATE
DEFAULT_PREFIX = "messagehub:rate"
FAR_FUTURE = 365 * 24 * 3600.0  # a horizon no booking reaches: "the next slot, however far"

# KEYS[1]: the key holding the theoretical arrival time (TAT), in microseconds of server time.
# ARGV[1]: emission interval in microseconds; ARGV[2]: burst.
# Returns 0 when a slot was reserved, else the microseconds to wait before one frees up.
_GCRA_LUA = """
-- Redis < 5 refuses writes after TIME unless effects (not the script) are replicated.
if redis.replicate_commands then redis.replicate_commands() end

local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
-- Server time, so workers on machines with skewed clocks still agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end

-- A send is allowed while the TAT is at most (burst - 1) intervals ahead of now.
local allow_at = tat - (burst - 1) * interval
if now < allow_at then
  return math.ceil(allow_at - now)
end

local new_tat = tat + interval
-- Once the TAT is in the past the key carries no information, so let it expire then.
local ttl_ms = math.max(1, math.ceil((new_tat - now) / 1000))
-- %.0f keeps every digit; tostring would round a 16-digit number to 14 significant digits.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl_ms))
return 0
"""


# Books (ARGV[5] = 1) or only counts (0) up to ARGV[3] consecutive slots, stopping at the first that lies
# more than ARGV[4] microseconds ahead; returns each slot's wait in microseconds. Lets one job take the
# next few sends at once.
_RESERVE_MANY_LUA = """
if redis.replicate_commands then redis.replicate_commands() end

local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local horizon = tonumber(ARGV[4])
local book = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local waits = {}
for i = 1, count do
  local slot = tat - (burst - 1) * interval
  local wait = 0
  if slot > now then wait = slot - now end
  if wait > horizon then break end
  waits[#waits + 1] = math.ceil(wait)
  tat = tat + interval
end
if book == 1 and #waits > 0 then
  local ttl_ms = math.max(1, math.ceil((tat - now) / 1000))
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', ttl_ms))
end
return waits
"""


# Pushes the TAT of KEYS[1] to at least now + ARGV[1] microseconds (never earlier): no slot before then.
_HOLD_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < until_ then
  local ttl_ms = math.max(1, math.ceil((until_ - now) / 1000))
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', string.format('%.0f', ttl_ms))
end
return 0
"""


def _validate(rate_per_second: float, burst: int, jitter: float) -> None:
    """Raise ValueError for arguments the limiter cannot honour."""
    if isinstance(rate_per_second, bool) or not isinstance(rate_per_second, (int, float)):
        raise ValueError("rate_per_second must be a number")
    # Written so that NaN fails too.
    if not (0 < rate_per_second <= MAX_RATE):
        raise ValueError(f"rate_per_second must be > 0 and <= {MAX_RATE:g}")
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ValueError("burst must be an integer >= 1")
    if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not (0.0 <= jitter <= 1.0):
        raise ValueError("jitter must be between 0 and 1")


class RateLimiter:
    """A GCRA send-rate limiter whose state lives in Redis, shared across processes."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX, *,
                 rng: random.Random | None = None) -> None:
        """Bind the limiter to `redis`; every key is stored under `prefix`."""
        self.redis = redis
        self.prefix = prefix
        self._rng = rng or random.Random()
        self._script = redis.register_script(_GCRA_LUA)
        self._reserve_many_script = redis.register_script(_RESERVE_MANY_LUA)
        self._hold_script = redis.register_script(_HOLD_LUA)

    def _key(self, key: str) -> str:
        """The Redis key holding the state for `key`."""
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        return f"{self.prefix}:{key}"

    def try_acquire(self, key: str, rate_per_second: float, burst: int = 1, *,
                    jitter: float = 0.0) -> float:
        """Reserve one send slot now and return 0.0, or reserve nothing and return seconds to wait."""
        _validate(rate_per_second, burst, jitter)
        interval_us = 1_000_000.0 / rate_per_second
        wait_us = int(self._script(keys=[self._key(key)], args=[repr(interval_us), burst]))
        if wait_us <= 0:
            return 0.0
        wait = wait_us / 1_000_000.0
        # Jitter stays out of the script so the shared state remains a pure function of time.
        if jitter:
            wait += self._rng.random() * jitter * (interval_us / 1_000_000.0)
        return wait

    def reserve(self, key: str, rate_per_second: float, burst: int = 1, *, jitter: float = 0.0) -> float:
        """Book the next free send slot and return the seconds until it (0.0: now); never waits."""
        _validate(rate_per_second, burst, jitter)
        [wait] = self.reserve_many(key, rate_per_second, burst, count=1, horizon=FAR_FUTURE)
        if wait and jitter:
            wait += self._rng.random() * jitter / rate_per_second
        return wait

    def reserve_many(self, key: str, rate_per_second: float, burst: int = 1, *, count: int,
                     horizon: float, book: bool = True) -> list[float]:
        """Book up to `count` consecutive slots that start within `horizon` seconds; their waits, soonest first.

        With `book=False` nothing is booked: the answer says how many slots are free that soon.
        """
        _validate(rate_per_second, burst, 0.0)
        if count < 1:
            return []
        interval_us = 1_000_000.0 / rate_per_second
        waits = self._reserve_many_script(keys=[self._key(key)], args=[
            repr(interval_us), burst, int(count), int(horizon * 1_000_000), 1 if book else 0])
        return [int(w) / 1_000_000.0 for w in waits]

    def hold(self, key: str, seconds: float) -> None:
        """Book no slot for `seconds` from now (the provider said to slow down); later bookings queue after it."""
        if seconds > 0:
            self._hold_script(keys=[self._key(key)], args=[int(seconds * 1_000_000)])

    def next_slot(self, key: str, rate_per_second: float, burst: int = 1) -> float:
        """Seconds until the next free slot, booking nothing."""
        return self.reserve_many(key, rate_per_second, burst, count=1, horizon=FAR_FUTURE, book=False)[0]


def channel_rate(kind: str, configured: float | None) -> tuple[float, int, float]:
    """The (rate, burst, jitter) a channel of `kind` sends at, given its configured rate."""
    from services.channels import ChannelSetupError, capabilities_for

    try:
        return rate_for(capabilities_for(kind), configured)
    except ChannelSetupError as exc:
        raise ValueError(str(exc)) from exc


def rate_for(capabilities: Capabilities, configured: float | None) -> tuple[float, int, float]:
    """The (rate, burst, jitter) a provider with `capabilities` sends at, given the tenant's configured rate."""
    rate = capabilities.default_rate
    if capabilities.rate_configurable and configured and not math.isnan(float(configured)):
        rate = min(max(float(configured), 1.0), capabilities.max_rate)
    # A short span of sends may go back to back (a tenth of a second on Cloud), smoothing bursty queues.
    return rate, max(1, int(rate * capabilities.burst_seconds)), capabilities.send_jitter
