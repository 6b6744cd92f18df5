"""The state rate limits and budgets keep, behind one interface: in memory or in Redis.

Every operation is one atomic check-and-update (in Redis: one Lua script, one round trip).
Money is counted in integer nano-dollars (1e-9 USD) so sums are exact; time in epoch
seconds passed by the caller (`now`), so both backends share one notion of a window.

    create_backend(kind, url, key_prefix, fail_mode=..., metrics=...)
        -> MemoryBackend | RedisBackend
    state_problem(kind, url) -> (key, problem) | None    # checked at load/lint, no connection

A backend that cannot reach its store raises `LimitsUnavailable` (503); the policies then
follow `fail_mode` (`block`: reply 503; `allow`: let the request through and count
`keeptrusts_limits_backend_fallbacks_total{mode}`). A store that answers one call with an
error (a script error for one subject's keys) raises `LimitsCallFailed` (500) for that call
alone: the store is not down, and `fail_mode` does not apply.

    LimitsError                 every failure of a backend call
    ├── LimitsUnavailable       503  the store did not answer (connection, timeout, overload)
    └── LimitsCallFailed        500  the store answered this one call with an error

Counted amounts are bounded (`MAX_TOKENS`, `MAX_NANO`) so no sum can overflow the store's
64-bit integers, whatever a request asks for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlsplit

from keeptrusts.errors import GatewayError
from keeptrusts.limits.windows import Window

if TYPE_CHECKING:
    from keeptrusts.telemetry.metrics import Metrics

FailMode = Literal["block", "allow"]
FAIL_MODES: tuple[str, ...] = ("block", "allow")

NANO = 1_000_000_000
#: the most nano-dollars one request reserves or settles ($1e9): a sum of such amounts stays
#: within a signed 64-bit integer (Redis INCRBY) as long as a limit does
MAX_NANO = 10**18
#: the most tokens one request is counted for: 60 s of such counts stay within 64 bits, and
#: exact as a Lua number (2^53), far beyond any real traffic
MAX_TOKENS = 2**40

#: why a rate check refused (0 = admitted)
RATE_OK, RATE_RPM, RATE_TPM, RATE_PARALLEL = 0, 1, 2, 3


def to_nano(usd: float) -> int:
    """USD -> integer nano-dollars, rounded (a float's last bit must not cost a request),
    at most `MAX_NANO` (an infinite price included)."""
    if not usd * NANO < MAX_NANO:
        return MAX_NANO if usd > 0 else 0  # inf, or nan (0 tokens at an infinite price)
    return max(0, round(usd * NANO))


def to_usd(nano: int) -> float:
    return nano / NANO


class LimitsError(GatewayError):
    """A limits backend call failed (see the subclasses)."""


class LimitsUnavailable(LimitsError):
    """The limits backend (Redis) did not answer in time; `--fail-mode block` replies with it."""

    status = 503
    type = "upstream_error"
    code = "limits_unavailable"


class LimitsCallFailed(LimitsError):
    """The store answered this call with an error (e.g. a key of the wrong type): this request
    fails (500) and no other; the store is not marked down."""

    status = 500
    type = "internal_error"
    code = "limits_error"


@dataclass(frozen=True, slots=True)
class RateRule:
    """One subject's limits; 0 means "no limit" for that dimension."""

    requests_per_minute: int = 0
    tokens_per_minute: int = 0
    max_parallel: int = 0


@dataclass(frozen=True, slots=True)
class RateResult:
    """The outcome of a rate check; counts are after the update when admitted."""

    refused: int  # RATE_OK or the dimension that refused
    retry_after: float
    requests: int
    tokens: int
    parallel: int
    #: the second the request was counted in (to correct its tokens later)
    bucket: int


@dataclass(frozen=True, slots=True)
class RateState:
    requests: int
    tokens: int
    parallel: int


@dataclass(frozen=True, slots=True)
class BudgetResult:
    admitted: bool
    spent: int  # nano-USD settled in the current window
    reserved: int  # nano-USD reserved by requests in flight (this one included if admitted)
    #: refused: seconds until enough settled spend leaves the window for this amount to fit
    #: (beside the reservations in flight), or 1 when the settled spend leaves room already
    #: and only reservations in flight are in the way
    retry_after: float = 0.0


@dataclass(frozen=True, slots=True)
class BudgetState:
    spent: int
    reserved: int


class LimitBackend(Protocol):
    """Atomic check-and-update operations. Implementations: `memory.py`, `redis.py`."""

    name: str
    fail_mode: FailMode
    metrics: Metrics | None

    async def rate_acquire(
        self, key: str, rule: RateRule, tokens: int, lease: str, now: float
    ) -> RateResult:
        """Admit one request if every limit of `rule` allows it, and count it (one step)."""
        ...

    async def rate_release(
        self, key: str, lease: str, bucket: int, token_delta: int, request_delta: int, now: float
    ) -> None:
        """Free the parallel slot; correct the counted tokens (and requests, to undo)."""
        ...

    async def rate_state(self, key: str, now: float) -> RateState: ...

    async def budget_reserve(
        self, key: str, window: Window, limit: int, amount: int, reservation: str, now: float
    ) -> BudgetResult:
        """Reserve `amount` if spent + reserved + amount <= limit (one step)."""
        ...

    async def budget_settle(
        self, key: str, window: Window, reservation: str, actual: int, now: float
    ) -> BudgetState:
        """Drop the reservation (if still held) and add `actual` to the window's spend."""
        ...

    async def budget_state(self, key: str, window: Window, now: float) -> BudgetState: ...

    async def close(self) -> None: ...


def create_backend(
    kind: str,
    url: str | None,
    key_prefix: str,
    *,
    fail_mode: str = "block",
    metrics: Metrics | None = None,
    timeout: float = 0.2,
    lease_ttl: float = 30.0,
) -> LimitBackend:
    """The backend the config's `state:` section names.

    `fail_mode` is `--fail-mode`; `metrics` receives `limit_fallbacks`. `timeout` bounds each
    Redis round trip (a dead Redis must not stall requests); `lease_ttl` is how long a
    parallel slot or a budget reservation outlives a replica that crashed while holding it.
    """
    if fail_mode not in FAIL_MODES:
        raise ValueError(f"--fail-mode must be one of {'|'.join(FAIL_MODES)}, not {fail_mode!r}")
    problem = state_problem(kind, url)
    if problem is not None:
        raise ValueError(f"state.{problem[0]}: {problem[1]}")
    mode: FailMode = "allow" if fail_mode == "allow" else "block"
    if kind == "memory":
        from keeptrusts.limits.memory import MemoryBackend

        return MemoryBackend(fail_mode=mode, metrics=metrics)
    from keeptrusts.limits.redis import RedisBackend

    assert url is not None
    return RedisBackend(
        url,
        key_prefix,
        fail_mode=mode,
        metrics=metrics,
        timeout=timeout,
        lease_ttl=lease_ttl,
    )


#: URL schemes `limits/redis.py` connects with
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster", "rediss+cluster")


def state_problem(kind: str, url: str | None, url_env: str | None = None) -> tuple[str, str] | None:
    """What is wrong with the config's `state:` settings, as (key under `state`, problem).

    Checked when a config is loaded or linted, without connecting, so a config that
    `kt policy lint` passes also starts. Problems never quote the URL (it may hold a password).
    With `url_env`, the URL in that variable is checked when it is set (a gateway started
    without it refuses to start: `url_env_unset`).
    """
    if url and url_env:
        return "url_env", "give either url or url_env (the variable holding the URL), not both"
    if kind == "memory":
        return None
    if kind != "redis":
        return "backend", f"must be memory or redis, not {kind!r}"
    if url_env:
        value = os.environ.get(url_env)
        problem = redis_url_problem(value) if value else None
        return None if problem is None else ("url_env", f"the URL in ${url_env}: {problem}")
    if not url:
        return "url", (
            "required when backend is redis (e.g. redis://host:6379/0), or url_env: the name "
            "of the environment variable that holds it"
        )
    problem = redis_url_problem(url)
    return None if problem is None else ("url", problem)


def url_env_unset(name: str) -> str:
    """The start-up error for a `state.url_env` variable that is not set."""
    return (
        f"state.url_env: the environment variable {name} is not set; the gateway needs the "
        "Redis URL it names to share limits (set it, e.g. from a Secret, or use state.url)"
    )


def redis_url_problem(url: str) -> str | None:
    """Why redis-py could not use `url` (None when it can), without connecting."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in REDIS_SCHEMES:
        return f"the URL scheme must be one of {', '.join(s + '://' for s in REDIS_SCHEMES)}"
    if scheme == "redis+sentinel":
        return _sentinel_problem(url)
    real = url.replace("+cluster://", "://", 1)
    try:
        from redis.asyncio.connection import parse_url

        parts = urlsplit(real)
        parts.port  # noqa: B018 - raises on a port that is not a number
        parse_url(real)
    except ValueError as exc:
        return _url_message(exc)
    db = parts.path.strip("/")
    if scheme in ("redis", "rediss") and db and not db.isdigit():
        return "the path must be the database number (redis://host:6379/0)"
    return None


def _sentinel_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return _url_message(exc)
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = item.partition(":")
        if not host or (port and not (port.isdigit() and int(port) <= 65535)):
            return "each sentinel must be host[:port] with a numeric port"
    path = [p for p in parts.path.split("/") if p]
    if not path:
        return "a redis+sentinel:// URL needs the service name: .../<service>[/db]"
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        return "a redis+sentinel:// URL ends /<service>[/<db number>]"
    return None


def _url_message(exc: ValueError) -> str:
    text = str(exc)
    if "Port" in text:
        return "the port is not a number from 0 to 65535"
    return f"not a usable Redis URL: {text}"
