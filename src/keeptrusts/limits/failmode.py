"""What a limits policy does when its backend is unreachable (`--fail-mode`)."""

from __future__ import annotations

import logging
from typing import TypeGuard

from keeptrusts.limits.backend import LimitBackend, LimitsUnavailable
from keeptrusts.pipeline.verdict import Decision, Result
from keeptrusts.telemetry.throttle import LogThrottle

log = logging.getLogger("keeptrusts.limits")

#: the reason code recorded when a request went through unchecked (`--fail-mode allow`)
FALLBACK_REASON = "limits.backend_unavailable"
#: during an outage every request falls back: one warning per this many seconds, with a count
WARN_INTERVAL = 10.0
_warn = LogThrottle(WARN_INTERVAL)


def goes_on(failure: BaseException | None, backend: LimitBackend) -> TypeGuard[LimitsUnavailable]:
    """Whether a request runs despite a failed limits call (`--fail-mode allow`, backend
    unreachable); any other failure stops it."""
    return isinstance(failure, LimitsUnavailable) and backend.fail_mode == "allow"


def fall_back(backend: LimitBackend, policy: str, exc: LimitsUnavailable) -> Decision:
    """`block`: raise the 503 (an outage, not a policy decision); `allow`: let it through."""
    if backend.metrics is not None:
        backend.metrics.limit_fallbacks.labels(backend.fail_mode).inc()
    if backend.fail_mode == "block":
        exc.policy = policy
        raise exc
    allowed = _warn.due()
    if allowed:
        log.warning(
            "limits backend unreachable: %d requests allowed unchecked since the last warning "
            "(--fail-mode allow; latest under policy %r; counted in limit_fallbacks)",
            allowed,
            policy,
        )
    return Decision(Result.ALLOW, FALLBACK_REASON)
