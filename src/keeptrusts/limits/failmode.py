"""What a limits policy does when its backend is unreachable (`--fail-mode`)."""

from __future__ import annotations

import logging

from keeptrusts.limits.backend import LimitBackend, LimitsUnavailable
from keeptrusts.pipeline.verdict import Decision, Result

log = logging.getLogger("keeptrusts.limits")

#: the reason code recorded when a request went through unchecked (`--fail-mode allow`)
FALLBACK_REASON = "limits.backend_unavailable"


def fall_back(backend: LimitBackend, policy: str, exc: LimitsUnavailable) -> Decision:
    """`block`: raise the 503 (an outage, not a policy decision); `allow`: let it through."""
    if backend.metrics is not None:
        backend.metrics.limit_fallbacks.labels(backend.fail_mode).inc()
    if backend.fail_mode == "block":
        exc.policy = policy
        raise exc
    log.warning(
        "policy %r: limits backend unreachable, request allowed (--fail-mode allow)", policy
    )
    return Decision(Result.ALLOW, FALLBACK_REASON)
