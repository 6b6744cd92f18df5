"""`kt api run` and `kt config push`, and the control-plane client `kt events` uses too.

The client commands read `$KEEPTRUSTS_API_URL` (default http://127.0.0.1:8080) and a token from
`--token`, `$KEEPTRUSTS_API_TOKEN`, the first of `$KEEPTRUSTS_API_TOKENS`, or
`$KEEPTRUSTS_GATEWAY_TOKEN`. They use only the standard library's HTTP client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson

from keeptrusts.config.masking import mask_url

DEFAULT_API_URL = "http://127.0.0.1:8080"
API_URL_HELP = f"control-plane API (default $KEEPTRUSTS_API_URL, else {DEFAULT_API_URL})"
TOKEN_HELP = (
    "bearer token (default $KEEPTRUSTS_API_TOKEN, else the first of $KEEPTRUSTS_API_TOKENS, "
    "else $KEEPTRUSTS_GATEWAY_TOKEN)"
)


class ApiError(Exception):
    """The API refused or could not be reached; the message says which and what to do."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        #: unreachable, or a 5xx / 429: the same call may work in a moment (`tail -f` waits)
        self.transient = transient


# -- kt api run --------------------------------------------------------------------------------


def api_main(args: list[str]) -> int:
    from keeptrusts.cli import listen_address
    from keeptrusts.controlplane.server import DEFAULT_DATABASE, ApiOptions, serve

    p = argparse.ArgumentParser(prog="kt api run", description="Run the control-plane API.")
    p.add_argument(
        "--listen",
        type=listen_address,
        metavar="HOST:PORT",
        default="0.0.0.0:8080",
        help="HOST:PORT (default 0.0.0.0:8080)",
    )
    p.add_argument(
        "--database",
        default=os.environ.get("KEEPTRUSTS_DATABASE_URL") or DEFAULT_DATABASE,
        help="sqlite:///PATH (default sqlite:///keeptrusts.db) or postgresql://USER@HOST/DB",
    )
    a = p.parse_args(args)
    host, port = a.listen
    _setup_logging()
    opts = ApiOptions(host=host, port=port, database=a.database)
    return _run(serve(opts))


def _setup_logging() -> None:
    from keeptrusts.telemetry.setup import setup_process

    setup_process()


def _run(coro: Any) -> int:
    try:
        import uvloop

        return int(uvloop.run(coro))
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return int(asyncio.run(coro))


# -- HTTP client -------------------------------------------------------------------------------


class Client:
    def __init__(self, api_url: str | None, token: str | None, timeout: float = 30.0) -> None:
        base = api_url or os.environ.get("KEEPTRUSTS_API_URL") or DEFAULT_API_URL
        self.base = checked_api_url(base).rstrip("/")
        #: the URL as messages show it: a password in it masked
        self.shown = mask_url(self.base)
        self.token = token or default_token()
        self.timeout = timeout

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        """The status and body of a 2xx answer; anything else raises ApiError."""
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data: bytes = resp.read()
                return int(resp.status), data
        except urllib.error.HTTPError as exc:
            raise ApiError(
                f"{method} {self.shown}{path}: HTTP {exc.code}: {_message(exc)}",
                transient=exc.code >= 500 or exc.code == 429,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(
                f"cannot reach the control-plane API at {self.shown}: {reason}; "
                "set KEEPTRUSTS_API_URL or --api-url",
                transient=True,
            ) from None

    def events(self, params: dict[str, str]) -> dict[str, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
        status, data = self.send("GET", "/v1/events?" + query)
        page = _json(data)
        if not _is_events_page(page):
            # a login page or a proxy's answer: whatever sits at that URL is not the control plane
            raise ApiError(
                f"GET {self.shown}/v1/events answered HTTP {status} without a JSON events page; "
                "is KEEPTRUSTS_API_URL (or --api-url) the control-plane API?"
            )
        return dict(page)


def checked_api_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL; else an ApiError saying what to write."""
    try:
        parts = urllib.parse.urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # `http://[::1`, a port that is not a number
        ok = False
    if not ok or any(c.isspace() for c in url):
        raise ApiError(  # masked: a mistyped URL may still hold a password
            f"{mask_url(url)!r} is not an http:// or https:// URL; set KEEPTRUSTS_API_URL or "
            f"--api-url to the control-plane API, e.g. {DEFAULT_API_URL}"
        )
    return url


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _is_events_page(page: Any) -> bool:
    return (
        isinstance(page, dict)
        and isinstance(page.get("events"), list)
        and all(isinstance(e, dict) for e in page["events"])
    )


def default_token() -> str | None:
    for name in ("KEEPTRUSTS_API_TOKEN", "KEEPTRUSTS_API_TOKENS", "KEEPTRUSTS_GATEWAY_TOKEN"):
        value = os.environ.get(name, "").split(",")[0].strip()
        if value:
            return value
    return None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        err = orjson.loads(exc.read()).get("error", {})
        return str(err.get("message") or exc.reason)
    except (orjson.JSONDecodeError, AttributeError, OSError):
        return str(exc.reason)


# -- kt config push ----------------------------------------------------------------------------


def config_push_main(args: list[str]) -> int:
    from keeptrusts.config.load import ConfigError, load_files

    p = argparse.ArgumentParser(
        prog="kt config push", description="Upload a policy config for a managed gateway."
    )
    p.add_argument("file", help="the policy config file")
    p.add_argument("--gateway", required=True, help="the gateway id (KEEPTRUSTS_GATEWAY_ID)")
    p.add_argument("--api-url", metavar="URL", help=API_URL_HELP)
    p.add_argument("--token", help=TOKEN_HELP)
    a = p.parse_args(args)
    try:
        loaded = load_files([a.file])
    except ConfigError as exc:
        print(f"kt config push: {a.file} is invalid, nothing uploaded:\n{exc}", file=sys.stderr)
        return 2
    with open(a.file, "rb") as f:
        raw = f.read()
    gateway = urllib.parse.quote(a.gateway, safe="")
    try:
        client = Client(a.api_url, a.token)
        etag = push(client, f"/v1/gateways/{gateway}/config", raw)
    except ApiError as exc:
        print(f"kt config push: {exc}", file=sys.stderr)
        return 1
    print(f"pushed {a.file} ({loaded.version}) to gateway {a.gateway}: etag {etag}")
    return 0


def push(client: Client, path: str, raw: bytes) -> str:
    """Upload a config; returns the ETag the API stored it under."""
    status, data = client.send("PUT", path, raw, "application/yaml")
    reply = _json(data)
    etag = reply.get("etag") if isinstance(reply, dict) else None
    if not isinstance(etag, str):
        raise ApiError(
            f"PUT {client.shown}{path} answered HTTP {status} without the API's JSON reply; "
            "is KEEPTRUSTS_API_URL (or --api-url) the control-plane API?"
        )
    return etag
