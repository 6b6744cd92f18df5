"""The gateway's error tree and its one JSON envelope.

    GatewayError                      every failure a client can see
    ├── ValidationFailed             400/413/422/404  validation_error
    ├── PolicyViolation              409              policy_violation  (input_/output_blocked)
    ├── RateLimited                  429              rate_limit        (rate_limited, budget_*)
    └── UpstreamFailed               502/503/504      upstream_error    (upstream_*)

Each carries what the contract's envelope needs: status, type, code, message and the policy's name.
Messages say what failed and what to do; they never echo prompt text or secrets.
"""

from __future__ import annotations

from typing import Any

import orjson


class GatewayError(Exception):
    """A failure with a status and the contract's `{"error": {...}}` envelope."""

    status: int = 500
    type: str = "internal_error"
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        policy: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.policy = policy
        self.headers: dict[str, str] = headers or {}

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "policy": self.policy,
            }
        }

    def body(self) -> bytes:
        return orjson.dumps(self.envelope())


class ValidationFailed(GatewayError):
    status = 400
    type = "validation_error"
    code = "invalid_request"


class PolicyViolation(GatewayError):
    status = 409
    type = "policy_violation"
    code = "input_blocked"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit"
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        code: str | None = None,
        policy: str | None = None,
    ) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, code=code, policy=policy, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class UpstreamFailed(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class InternalError(GatewayError):
    """A bug in the gateway: reported without detail, logged with it."""

    status = 500
    type = "internal_error"
    code = "internal_error"


def model_not_found(model: str) -> ValidationFailed:
    return ValidationFailed(
        f"no provider target serves model {model!r}; check providers.targets[].models "
        "in the policy config, or GET /v1/models for the served names",
        status=404,
        code="model_not_found",
    )
