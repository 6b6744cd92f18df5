"""The governed request path for `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`.

read -> validate -> identify -> request policies -> route (with fallback) -> response
policies (or the stream guard) -> respond -> settle -> account (metrics, event, log).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from keeptrusts.encode import answer_json
from keeptrusts.errors import GatewayError, InternalError, UpstreamFailed
from keeptrusts.gateway import admission, dispatch, parse
from keeptrusts.gateway.finish import estimate_usage, finish, response_chars, take_usage
from keeptrusts.gateway.listener import drain_deadline
from keeptrusts.gateway.relay import relay
from keeptrusts.gateway.request_id import request_id as make_request_id
from keeptrusts.gateway.respond import error_response, raw_json_response
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.stream_format import OPENAI, StreamFormat
from keeptrusts.pipeline.chain import run_complete, run_request, run_response
from keeptrusts.pipeline.chat import NATIVE
from keeptrusts.pipeline.context import Exchange
from keeptrusts.pipeline.verdict import Result
from keeptrusts.providers.base import ProviderCall
from keeptrusts.telemetry.tracing import RequestTrace

log = logging.getLogger("keeptrusts.gateway")
ROUTES = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
}


class Handler:
    """The OpenAI API's endpoints. Subclasses speak other APIs over the same path by
    translating the request (`_exchange`) and the answer (`_reply`, `stream_format`,
    `_error`): see `gateway/translated.py`."""

    def __init__(self, state: GatewayState, endpoint: str, route: str | None = None) -> None:
        self.state = state
        self.endpoint = endpoint
        self.check = parse.CHECKS[endpoint]
        self.route = route or ROUTES[endpoint]

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        runtime = state.runtime
        request_id = make_request_id(request.headers.get("x-request-id"))
        trace = RequestTrace.start(request.headers, request.method, self.route)
        if runtime is None:
            return self._error(
                UpstreamFailed(
                    "no config is loaded yet; retry shortly", status=503, code="not_ready"
                ),
                {"x-request-id": request_id},
            )
        state.in_flight += 1
        ex: Exchange | None = None
        try:
            ex = await self._exchange(request, runtime, request_id, trace)
            return await self._serve(request, ex)
        except GatewayError as exc:
            if ex is None:  # refused before it was read whole: accounted all the same
                ex = self._refused(request, runtime, request_id, trace)
            return self._fail(exc, ex, request_id, runtime.version)
        except asyncio.CancelledError as exc:  # the client went away (aiohttp cancels it)
            if (cut := drain_deadline(exc)) is not None:  # or the drain's deadline came
                if ex is None:
                    ex = self._refused(request, runtime, request_id, trace)
                return self._fail(cut, ex, request_id, runtime.version)
            if ex is None:  # while sending its body: accounted all the same
                ex = self._refused(request, runtime, request_id, trace)
            ex.client_gone = True
            ex.status = 499
            if ex.provider is not None:
                # the provider had the request: its prompt is billed even with no answer
                # read, so budgets and costs are not settled at zero
                estimate_usage(ex, 0)
            raise
        except Exception:
            log.exception("unexpected failure on request %s", request_id)
            if ex is None:
                ex = self._refused(request, runtime, request_id, trace)
            return self._fail(
                InternalError(
                    f"the gateway failed; retry, and report request id {request_id} if it persists"
                ),
                ex,
                request_id,
                runtime.version,
            )
        finally:
            state.in_flight -= 1
            admission.release(state, request)
            if ex is not None:
                if ex.runtime.completes:
                    # settle budgets after the response is out, and even if the client's
                    # disconnect cancels this handler; drain() waits for these tasks
                    task = asyncio.create_task(self._close(ex))
                    state.background.add(task)
                    task.add_done_callback(state.background.discard)
                else:
                    # account (metrics, event, access line) once the response is written:
                    # aiohttp sends it before this task next yields, so this adds no latency
                    asyncio.get_running_loop().call_soon(finish, state, ex, ex.status)

    async def _close(self, ex: Exchange) -> None:
        await run_complete(ex)
        finish(self.state, ex, ex.status)

    async def _exchange(
        self, request: web.Request, runtime: Any, request_id: str, trace: RequestTrace
    ) -> Exchange:
        raw = await admission.read_body(self.state, request, runtime.loaded.config.server)
        body = parse.parse_json(raw)
        model, stream = parse.check_common(body)
        self.check(body)
        return self._new_exchange(request, runtime, request_id, trace, body, raw, model, stream)

    def _refused(
        self, request: web.Request, runtime: Any, request_id: str, trace: RequestTrace
    ) -> Exchange:
        """The exchange of a request refused before its body was parsed and checked (too
        large, malformed, the gateway busy): no body, but a tenant, a metric, an event and an
        access line like any other request."""
        return self._new_exchange(request, runtime, request_id, trace, {}, b"", "", False)

    def _new_exchange(
        self,
        request: web.Request,
        runtime: Any,
        request_id: str,
        trace: RequestTrace,
        body: dict[str, Any],
        raw: bytes,
        model: str,
        stream: bool,
    ) -> Exchange:
        ident = runtime.resolver.resolve(
            request.headers, _peer_identity(request), _api_key(request)
        )
        return Exchange(
            runtime=runtime,
            endpoint=self.endpoint,
            body=body,
            raw=raw,
            request_id=request_id,
            model=model,
            stream=stream,
            tenant=ident.tenant,
            api_key_id=ident.api_key_id,
            trace_id=trace.trace_id,
            trace=trace,
        )

    async def _serve(self, request: web.Request, ex: Exchange) -> web.StreamResponse:
        rt = ex.runtime
        if rt.enabled:
            await run_request(ex)
        wants_usage = True
        if ex.stream:
            wants_usage = _wants_usage(ex)
        call = ProviderCall(
            endpoint=self.endpoint,
            body=ex.body,
            stream=ex.stream,
            headers={"x-request-id": ex.request_id},
            native=ex.scratch.get(NATIVE) or {},
        )
        if ex.stream:
            resp, _status = await relay(
                self.state,
                request,
                ex,
                call,
                self._headers(ex),
                wants_usage,
                self.stream_format(ex),
            )
            return resp
        body = await dispatch.complete(ex, call, self.state.metrics)
        take_usage(ex, body.get("usage"))
        changed = run_response(ex, body) if rt.enabled else False
        if not ex.usage.input_tokens:
            estimate_usage(ex, response_chars(body))
        return self._reply(ex, body, None if changed else call.response_raw)

    def _reply(self, ex: Exchange, body: dict[str, Any], raw: bytes | None) -> web.Response:
        """The answer to a JSON request (`raw`: the provider's bytes, when nothing changed)."""
        ex.status = 200
        if raw is not None:
            # nothing was redacted: the provider's bytes go out as they came (no re-encoding)
            return raw_json_response(raw, 200, self._headers(ex))
        return raw_json_response(answer_json(body), 200, self._headers(ex))

    def stream_format(self, ex: Exchange) -> StreamFormat:
        """How a stream is written to this endpoint's callers."""
        return OPENAI

    def _error(self, exc: GatewayError, headers: dict[str, str]) -> web.Response:
        return error_response(exc, headers)

    def _headers(self, ex: Exchange) -> dict[str, str]:
        return {
            "x-request-id": ex.request_id,
            "x-keeptrusts-decision": ex.decision,
            "x-keeptrusts-overhead-ms": f"{ex.overhead() * 1000:.3f}",
            "x-keeptrusts-config-version": ex.runtime.version,
        }

    def _fail(
        self, exc: GatewayError, ex: Exchange | None, request_id: str, version: str
    ) -> web.Response:
        headers = {"x-request-id": request_id, "x-keeptrusts-config-version": version}
        if ex is not None:
            ex.status = exc.status
            if exc.type == "policy_violation":
                ex.decision = Result.BLOCK
            headers = self._headers(ex)
        else:
            headers["x-keeptrusts-decision"] = "allow"
        return self._error(exc, headers)


def _wants_usage(ex: Exchange) -> bool:
    """Ask OpenAI-style providers for usage; remember whether the caller asked for it itself."""
    opts = ex.body.get("stream_options")
    if isinstance(opts, dict) and opts.get("include_usage"):
        return True
    if ex.endpoint in ("chat", "completions"):
        ex.body["stream_options"] = {
            **(opts if isinstance(opts, dict) else {}),
            "include_usage": True,
        }
    return False


def _api_key(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("x-api-key")


def _peer_identity(request: web.Request) -> str | None:
    """The SPIFFE id from a verified client certificate (native mTLS), if any."""
    transport = request.transport
    if transport is None:
        return None
    cert = transport.get_extra_info("peercert")
    if not cert:
        return None
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "URI" and str(value).startswith("spiffe://"):
            return str(value)
    return None
