"""The control-plane HTTP API (contract § Control-plane API).

    GET  /health                      liveness and database reachability (no token)
    POST /v1/events                   a batch {"events": [...]}, idempotent by event id
    GET  /v1/events                   filtered, paginated by an opaque cursor
    GET  /v1/reports/cost             cost and tokens summed by tenant/model/... over a range
    GET  /v1/gateways/{id}/config     a managed gateway's config (ETag, If-None-Match -> 304)
    PUT  /v1/gateways/{id}/config     upload one (validated first)

Every /v1 route wants a bearer token from `$KEEPTRUSTS_API_TOKENS` (comma-separated) or
`$KEEPTRUSTS_GATEWAY_TOKEN`; errors use the gateway's `{"error": {...}}` envelope.
"""

from __future__ import annotations

import hashlib
import logging
import time

import orjson
from aiohttp import web

from keeptrusts import __version__
from keeptrusts.controlplane.middleware import (
    MAX_BODY,
    TOKENS,
    auth_middleware,
    errors_middleware,
    json_response,
)
from keeptrusts.controlplane.params import (
    cursor_param,
    decision_param,
    filter_param,
    int_param,
    order_param,
    time_param,
)
from keeptrusts.controlplane.sqlquery import cost_total
from keeptrusts.controlplane.store import (
    GROUP_COLUMNS,
    CostQuery,
    EventQuery,
    InvalidEvent,
    Store,
    UnstorableBatch,
    event_row,
)
from keeptrusts.controlplane.timeparse import text_utc
from keeptrusts.errors import ValidationFailed

log = logging.getLogger("keeptrusts.controlplane")

MAX_BATCH = 10_000
MAX_CONFIG = 1024 * 1024
MAX_PAGE = 1000
GATEWAY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

STORE = web.AppKey("store", Store)
STARTED = web.AppKey("started", float)


# -- handlers ----------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    store = request.app[STORE]
    try:
        ok = await store.ping()
    except Exception:
        ok = False
    body = {
        "status": "healthy" if ok else "unhealthy",
        "version": __version__,
        "database": store.backend,
        "uptime_seconds": round(time.monotonic() - request.app[STARTED], 3),
    }
    return json_response(body, 200 if ok else 503)


async def post_events(request: web.Request) -> web.Response:
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ValidationFailed("request body is not valid JSON") from None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise ValidationFailed('body must be {"events": [...]}', status=422)
    if len(events) > MAX_BATCH:
        raise ValidationFailed(
            f"at most {MAX_BATCH} events per batch", status=413, code="request_too_large"
        )
    try:
        rows = [event_row(i, e) for i, e in enumerate(events)]
    except InvalidEvent as exc:
        raise ValidationFailed(str(exc), status=422) from None
    try:
        inserted = await request.app[STORE].insert_events(rows) if rows else 0
    except UnstorableBatch as exc:
        # a value `event_row` let through but the database refuses: the sender's data, not an
        # outage, so a 4xx like any invalid event (a 500 would invite retries of the same batch)
        log.warning("refused a batch the database cannot store: %s", exc)
        message = f"events: the database cannot store this batch ({str(exc)[:200]})"
        raise ValidationFailed(message, status=422) from None
    return json_response({"accepted": len(rows), "inserted": inserted})


async def get_events(request: web.Request) -> web.Response:
    q = request.query
    query = EventQuery(
        limit=int_param(q, "limit", 100, 1, MAX_PAGE),
        cursor=cursor_param(q.get("cursor")),
        since=time_param(q, "since"),
        until=time_param(q, "until"),
        tenant=filter_param(q, "tenant"),
        decision=decision_param(q),
        policy=filter_param(q, "policy"),
        model=filter_param(q, "model"),
        gateway_id=filter_param(q, "gateway_id"),
        descending=order_param(q.get("order")),
    )
    page = await request.app[STORE].list_events(query)
    next_cursor = str(page.last_seq) if page.more and page.last_seq is not None else None
    # `cursor`: after the newest event seen, to poll for newer ones (`kt events tail -f`),
    # also when this was the last page or a newest-first (`order=desc`) page
    seen = [s for s in (page.first_seq, page.last_seq) if s is not None]
    resume = str(max(seen)) if seen else (None if query.descending else q.get("cursor") or None)
    body = (
        b'{"events":['
        + ",".join(page.events).encode()
        + b"],"
        + b'"next_cursor":'
        + orjson.dumps(next_cursor)
        + b',"cursor":'
        + orjson.dumps(resume)
        + b"}"
    )
    return web.Response(body=body, content_type="application/json")


async def cost_report(request: web.Request) -> web.Response:
    q = request.query
    group_by = tuple(g.strip() for g in q.get("group_by", "").split(",") if g.strip())
    for g in group_by:
        if g not in GROUP_COLUMNS:
            raise ValidationFailed(
                f"group_by: {g!r} is not one of {', '.join(GROUP_COLUMNS)}", status=422
            )
    since, until = time_param(q, "since"), time_param(q, "until")
    query = CostQuery(
        group_by=group_by,
        since=since,
        until=until,
        tenant=filter_param(q, "tenant"),
        model=filter_param(q, "model"),
    )
    rows = await request.app[STORE].cost_report(query)
    return json_response(
        {
            "group_by": list(group_by),
            "since": text_utc(since) if since else None,
            "until": text_utc(until) if until else None,
            "rows": rows if group_by else [],
            "total": cost_total(rows),
        }
    )


async def get_config(request: web.Request) -> web.Response:
    gateway_id = _gateway_id(request)
    stored = await request.app[STORE].get_config(gateway_id)
    if stored is None:
        hint = "upload one with `kt config push FILE --gateway ID`"
        msg = f"no config stored for gateway {gateway_id!r}; {hint}"
        raise ValidationFailed(msg, status=404, code="not_found")
    etag = f'"{stored.etag}"'
    headers = {
        "ETag": etag,
        "Last-Modified": stored.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    if etag in _etags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers=headers)
    return web.Response(text=stored.body, content_type="application/yaml", headers=headers)


async def put_config(request: web.Request) -> web.Response:
    gateway_id = _gateway_id(request)
    raw = await request.read()
    if len(raw) > MAX_CONFIG:
        raise ValidationFailed("config larger than 1 MiB", status=413, code="request_too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("config is not UTF-8 text", status=422) from None
    _validate_config(gateway_id, text)
    etag = hashlib.sha256(raw).hexdigest()
    stored = await request.app[STORE].put_config(gateway_id, text, etag)
    body = {"gateway_id": gateway_id, "etag": etag, "updated_at": text_utc(stored.updated_at)}
    return json_response(body, headers={"ETag": f'"{etag}"'})


def _validate_config(gateway_id: str, text: str) -> None:
    from keeptrusts.config.load import ConfigError, load_texts

    try:
        load_texts([(f"<gateway {gateway_id}>", text)])
    except ConfigError as exc:
        raise ValidationFailed("invalid policy config:\n" + str(exc), status=422) from None


def _gateway_id(request: web.Request) -> str:
    gateway_id = request.match_info["gateway_id"]
    if not gateway_id or len(gateway_id) > 128 or not set(gateway_id) <= GATEWAY_ID_CHARS:
        raise ValidationFailed("gateway id: use 1-128 letters, digits, '.', '_' or '-'", status=422)
    return gateway_id


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def build_app(store: Store, tokens: frozenset[str]) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY, middlewares=[errors_middleware, auth_middleware]
    )
    app[STORE] = store
    app[TOKENS] = tokens
    app[STARTED] = time.monotonic()
    app.router.add_get("/health", health)
    app.router.add_post("/v1/events", post_events)
    app.router.add_get("/v1/events", get_events)
    app.router.add_get("/v1/reports/cost", cost_report)
    app.router.add_get("/v1/gateways/{gateway_id}/config", get_config)
    app.router.add_put("/v1/gateways/{gateway_id}/config", put_config)
    return app
