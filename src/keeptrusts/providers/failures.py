"""How a provider attempt fails: `UpstreamError`, and the transport exceptions mapped to it.

`kind` is what fallback rules match (`connect_error`, `timeout`, `5xx`, `429`) or a
non-retryable one (`4xx`, `protocol`); each message names the target and, for a timeout, the
setting that ran out.
"""

from __future__ import annotations

import asyncio

import aiohttp

from keeptrusts.config.targets import Target


class UpstreamError(Exception):
    """A provider attempt that failed. `kind` drives fallback; `status` is the upstream's."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        target: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.target = target

    def add_hint(self, hint: str) -> None:
        """Say after the provider's message what the caller can do about it."""
        self.message += f"; {hint}"
        self.args = (self.message,)


def transport_failure(exc: BaseException, target: Target) -> UpstreamError:
    """Map a transport exception to an UpstreamError naming `target`."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamError(
            "timeout",
            f"target {target.id!r} timed out connecting (timeouts.connect: "
            f"{target.timeouts.connect:g} s, name resolution and TLS included)",
            target=target.id,
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):  # sock_read: `first_byte`
        return UpstreamError(
            "timeout",
            f"target {target.id!r} sent nothing for {target.timeouts.first_byte:g} s "
            "(timeouts.first_byte: the wait for an answer and between stream chunks; a "
            "JSON answer arrives only once wholly generated, so long answers and reasoning "
            "models need more)",
            target=target.id,
        )
    if isinstance(exc, asyncio.TimeoutError):  # the whole call
        return UpstreamError(
            "timeout",
            f"target {target.id!r} did not finish within {target.timeouts.total:g} s "
            "(timeouts.total)",
            target=target.id,
        )
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError):
        return UpstreamError(
            "connect_error", f"target {target.id!r} is unreachable ({exc})", target=target.id
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        # the connection dropped mid-answer: a transport failure like a reset before
        # the headers, so fallback may retry it while nothing has reached the client
        return UpstreamError(
            "connect_error",
            f"target {target.id!r} dropped the connection mid-response",
            target=target.id,
        )
    if isinstance(exc, aiohttp.ClientError):
        return UpstreamError(
            "connect_error", f"target {target.id!r} failed: {type(exc).__name__}", target=target.id
        )
    return UpstreamError("protocol", f"target {target.id!r} failed: {exc}", target=target.id)
