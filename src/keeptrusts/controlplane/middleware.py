"""What every control-plane request goes through: the bearer-token check on /v1 routes, and
every failure (ours, aiohttp's own refusals, an unreachable database, a bug) answered in the
gateway's `{"error": {...}}` envelope, never a bare 500 or a traceback.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from keeptrusts.errors import GatewayError, InternalError, ValidationFailed

log = logging.getLogger("keeptrusts.controlplane")

#: the largest request body read (aiohttp answers more with a 413, put in the envelope here)
MAX_BODY = 64 * 1024 * 1024
TOKENS = web.AppKey("tokens", frozenset[str])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unauthorized(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_token"


class Unavailable(GatewayError):
    status = 503
    type = "unavailable"
    code = "storage_unavailable"


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def error_response(err: GatewayError) -> web.Response:
    headers = dict(err.headers)
    if isinstance(err, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return web.Response(
        body=err.body(), status=err.status, headers=headers, content_type="application/json"
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(_http_error(exc))
    except (OSError, ConnectionError) as exc:
        log.error("storage unavailable: %s", exc)
        return error_response(Unavailable("the event store is unavailable; retry later"))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(InternalError("internal error; see the API's log"))


def _http_error(exc: web.HTTPException) -> GatewayError:
    """aiohttp's own refusals (404, 405, a body over `MAX_BODY`) in the API's error shape."""
    if exc.status == 413:
        message = f"request body larger than {MAX_BODY // (1024 * 1024)} MiB"
        return ValidationFailed(message, status=413, code="request_too_large")
    code = "not_found" if exc.status == 404 else "invalid_request"
    return ValidationFailed(exc.reason, status=exc.status, code=code)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/v1/"):
        check_token(request.headers.get("Authorization", ""), request.app[TOKENS])
    return await handler(request)


def check_token(header: str, tokens: frozenset[str]) -> None:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        for known in tokens:
            if hmac.compare_digest(token.encode(), known.encode()):
                return
    raise Unauthorized(
        "missing or unknown bearer token; send Authorization: Bearer <token> "
        "with a token listed in KEEPTRUSTS_API_TOKENS"
    )
