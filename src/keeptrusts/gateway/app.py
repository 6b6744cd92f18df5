"""The aiohttp application: routes of the gateway's HTTP surface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from keeptrusts.config.runtime import Runtime
from keeptrusts.errors import GatewayError, ValidationFailed
from keeptrusts.gateway import admin, admission, cors, health, ip_allowlist, not_found
from keeptrusts.gateway.count_tokens import COUNT_TOKENS, CountTokensHandler
from keeptrusts.gateway.handler import Handler
from keeptrusts.gateway.messages import MESSAGES
from keeptrusts.gateway.request_id import request_id as make_request_id
from keeptrusts.gateway.respond import error_response
from keeptrusts.gateway.responses import RESPONSES
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.translated import TranslatingHandler

Handler_ = Callable[[web.Request], Awaitable[web.StreamResponse]]


def envelope_middleware(state: GatewayState) -> Middleware:
    """aiohttp's own HTTP errors (404, 405, ...) in the contract's envelope, and the request id
    and config version on every response (the completion handlers set their own)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler_) -> web.StreamResponse:
        runtime = state.runtime
        screened = None
        if runtime is not None and runtime.screens_api and request.path.startswith("/v1/"):
            screened = _screen(runtime, request)  # a refusal, or a CORS preflight's answer
        if screened is not None:
            resp = screened
        else:
            try:
                resp = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                resp = _http_error(request, exc)
        if "x-request-id" not in resp.headers and not resp.prepared:
            resp.headers["x-request-id"] = make_request_id(request.headers.get("x-request-id"))
            runtime = state.runtime
            if runtime is not None:
                resp.headers.setdefault("x-keeptrusts-config-version", runtime.version)
        return resp

    return middleware


def _screen(runtime: Runtime, request: web.Request) -> web.StreamResponse | None:
    """A call to the API from a network or a page's origin the config does not allow, or a
    CORS preflight: the answer, or None to serve it. A refused call to a governed endpoint is
    handed to its handler (`admission.REFUSED`), which refuses it accounted like any other
    refusal (decision event, metrics, access line); other calls are refused here."""
    refused: GatewayError | None = None
    if runtime.ip_rules is not None:
        refused = ip_allowlist.screen(runtime.ip_rules, request)
    origin = request.headers.get("Origin")
    if refused is None and origin is not None and runtime.cors is not None:
        answered = cors.admit(runtime.cors, request, origin)
        if not isinstance(answered, GatewayError):
            return answered  # None, or a preflight's answer
        refused = answered
    if refused is None:
        return None
    if request.method == "POST" and request.match_info.http_exception is None:
        request[admission.REFUSED] = refused
        return None
    return _error(request, refused)


def _screened_expect(
    state: GatewayState, expect: Callable[[web.Request], Awaitable[None]]
) -> Callable[[web.Request], Awaitable[None]]:
    """`Expect: 100-continue` on a governed endpoint: screened first (aiohttp runs it before the
    middleware), so a call the config refuses is not invited to upload its body."""

    async def screened(request: web.Request) -> None:
        runtime = state.runtime
        if runtime is not None and runtime.screens_api:
            _screen(runtime, request)  # a POST it refuses is marked `admission.REFUSED`
        await expect(request)

    return screened


def _error(
    request: web.Request, err: GatewayError, headers: dict[str, str] | None = None
) -> web.Response:
    """`err` in the rendering of the API called (Anthropic's under /v1/messages)."""
    path = request.path
    messages = (path[3:] if path.startswith("/v1/v1/") else path).startswith(MESSAGES.route)
    render = MESSAGES.error_body if messages else None
    return error_response(err, headers, render(err) if render is not None else None)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    path = request.path
    todo = not_found.hint(path, f"{request.scheme}://{request.host}") if exc.status == 404 else ""
    err: GatewayError = ValidationFailed(
        f"{request.method} {path[:200]}: {exc.reason}{todo}",
        status=exc.status,
        code="not_found" if exc.status == 404 else "invalid_request",
    )
    if exc.status == 405 and cors.is_preflight(request):
        err.message += (
            "; a browser's preflight: cross-origin calls are off (allow the page's origin in "
            "the config's cors section: docs/config.md, Browsers and CORS)"
            if path.startswith("/v1/")
            else "; a browser's preflight: cross-origin calls are served for the API (/v1/*) only"
        )
    allow = exc.headers.get("Allow")
    # under /v1/messages (count_tokens, a GET...), errors in that API's rendering
    return _error(request, err, {"Allow": allow} if allow else None)


def build_app(
    state: GatewayState, reload: Callable[[], Awaitable[tuple[bool, str]]]
) -> web.Application:
    app = web.Application(middlewares=[envelope_middleware(state)], client_max_size=1024**3)
    expect = _screened_expect(state, admission.expect_handler(state))
    app.add_routes(
        [
            # bound methods: aiohttp calls an async function directly (an object with an async
            # __call__ would get a per-request compatibility wrapper and a DeprecationWarning)
            *(
                web.post(path, handler, expect_handler=expect)
                for path, handler in (
                    ("/v1/chat/completions", Handler(state, "chat").__call__),
                    ("/v1/completions", Handler(state, "completions").__call__),
                    ("/v1/embeddings", Handler(state, "embeddings").__call__),
                    (MESSAGES.route, TranslatingHandler(state, MESSAGES).__call__),
                    (COUNT_TOKENS.route, CountTokensHandler(state).__call__),
                    (RESPONSES.route, TranslatingHandler(state, RESPONSES).__call__),
                )
            ),
            *health.routes(state),
            *admin.routes(state, reload),
        ]
    )
    app.on_response_prepare.append(cors.add_headers)
    return app
