"""`kt api run`, `kt events tail|export` and `kt config push`: the control plane from the shell.

The client commands read `$KEEPTRUSTS_API_URL` (default http://127.0.0.1:8080) and a token from
`--token`, `$KEEPTRUSTS_API_TOKEN`, the first of `$KEEPTRUSTS_API_TOKENS`, or
`$KEEPTRUSTS_GATEWAY_TOKEN`. They use only the standard library's HTTP client.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

import orjson

from keeptrusts.config.masking import mask_url
from keeptrusts.pipeline.verdict import Result

DEFAULT_API_URL = "http://127.0.0.1:8080"
CSV_FIELDS = (
    "id",
    "timestamp",
    "gateway_id",
    "config_version",
    "request_id",
    "trace_id",
    "tenant",
    "model",
    "provider",
    "decision",
    "policies_evaluated",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "latency_ms",
    "overhead_ms",
    "status",
    "usage_estimated",
)
#: events asked for a page (the API's largest page)
PAGE = 1000
#: first characters that make a spreadsheet read a CSV cell as a formula (OWASP CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: the decisions an event carries, least severe first
DECISIONS = tuple(r.value for r in Result)
FILTER_HELP = {
    "since": "events at or after: RFC 3339 time or an age like 1h",
    "until": "events before: RFC 3339 time or an age like 1h",
    "tenant": "events of this tenant",
    "decision": "events with this decision: " + "|".join(DECISIONS),
    "policy": "events where this policy ran (a name in policies_evaluated)",
    "model": "events for this model",
    "gateway_id": "events from this gateway",
}
API_URL_HELP = f"control-plane API (default $KEEPTRUSTS_API_URL, else {DEFAULT_API_URL})"
TOKEN_HELP = (
    "bearer token (default $KEEPTRUSTS_API_TOKEN, else the first of $KEEPTRUSTS_API_TOKENS, "
    "else $KEEPTRUSTS_GATEWAY_TOKEN)"
)
FILTERS = ("since", "until", "tenant", "decision", "policy", "model", "gateway_id")


class ApiError(Exception):
    """The API refused or could not be reached; the message says which and what to do."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        #: unreachable, or a 5xx / 429: the same call may work in a moment (`tail -f` waits)
        self.transient = transient


class OutputError(Exception):
    """The output file cannot be written; the message names it and says why."""


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


def decision(value: str) -> str:
    """An argparse `type`: a decision events carry (a typo would silently match nothing)."""
    if value not in DECISIONS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(DECISIONS)}, got {value!r}")
    return value


def positive_seconds(value: str) -> float:
    """An argparse `type`: a finite number of seconds above 0 (`--interval 0` would busy-poll)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {value!r}")
    return seconds


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


# -- kt events tail|export ---------------------------------------------------------------------


def events_main(args: list[str]) -> int:
    if not args or args[0] not in ("tail", "export"):
        print("usage: kt events tail|export [options]", file=sys.stderr)
        return 2
    sub, rest = args[0], args[1:]
    p = argparse.ArgumentParser(
        prog=f"kt events {sub}",
        description="Show the newest decision events (and with -f, follow new ones)."
        if sub == "tail"
        else "Export every matching decision event, oldest first.",
    )
    p.add_argument("--api-url", metavar="URL", help=API_URL_HELP)
    p.add_argument("--token", help=TOKEN_HELP)
    for name in FILTERS:
        p.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=decision if name == "decision" else str,
            help=FILTER_HELP.get(name),
        )
    if sub == "tail":
        p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
        p.add_argument("-n", "--limit", type=int, default=20, help="events shown first (20)")
        p.add_argument(
            "--interval", type=positive_seconds, default=1.0, help="poll interval in seconds"
        )
    else:
        p.add_argument(
            "--format", choices=["jsonl", "csv"], default="jsonl", help="output format (jsonl)"
        )
        p.add_argument("-o", "--output", help="file to write (default stdout)")
    a = p.parse_args(rest)
    filters = {name: getattr(a, name) or "" for name in FILTERS}
    try:
        client = Client(a.api_url, a.token)
        if sub == "tail":
            return tail(client, filters, a.limit, a.follow, a.interval, sys.stdout)
        return export(client, filters, a.format, a.output)
    except (ApiError, OutputError) as exc:
        print(f"kt events {sub}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def tail(
    client: Client, filters: dict[str, str], limit: int, follow: bool, interval: float, out: IO[str]
) -> int:
    newest, cursor = newest_events(client, filters, limit)
    for event in reversed(newest):
        out.write(orjson.dumps(event).decode() + "\n")
    out.flush()
    failing = False
    while follow:
        try:
            page = client.events({**filters, "cursor": cursor or "", "limit": str(PAGE)})
        except ApiError as exc:
            if not exc.transient:
                raise
            if not failing:  # said once per outage; following resumes where it stopped
                print(f"kt events tail: {exc}; retrying every {interval:g}s", file=sys.stderr)
            failing = True
            time.sleep(interval)
            continue
        if failing:
            print("kt events tail: the API answers again; following", file=sys.stderr)
            failing = False
        for event in page["events"]:
            out.write(orjson.dumps(event).decode() + "\n")
        out.flush()
        cursor = page.get("cursor") or cursor
        if not page.get("next_cursor"):
            time.sleep(interval)
    return 0


def newest_events(
    client: Client, filters: dict[str, str], limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The newest `limit` events, newest first, paging back as far as needed (the API serves
    at most a page of events at a time), and the cursor to poll for newer ones from."""
    params = {**filters, "order": "desc", "limit": str(max(1, min(limit, PAGE)))}
    page = client.events(params)
    resume = page.get("cursor")
    events: list[dict[str, Any]] = page["events"][: max(0, limit)]
    while len(events) < limit and page.get("next_cursor"):
        page = client.events({**params, "cursor": str(page["next_cursor"])})
        events += page["events"][: limit - len(events)]
    return events, resume


def export(client: Client, filters: dict[str, str], fmt: str, output: str | None) -> int:
    if output is None:
        return _export_to(client, filters, fmt, sys.stdout)
    try:
        with open(output, "w", newline="", encoding="utf-8") as out:
            return _export_to(client, filters, fmt, out)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None


def _export_to(client: Client, filters: dict[str, str], fmt: str, out: IO[str]) -> int:
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_FIELDS)
    n = 0
    for event in iterate(client, filters):
        if writer is not None:
            writer.writerow([_csv_value(event.get(f)) for f in CSV_FIELDS])
        else:
            out.write(orjson.dumps(event).decode() + "\n")
        n += 1
    out.flush()
    print(f"kt events export: {n} events", file=sys.stderr)
    return 0


def iterate(client: Client, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    cursor = ""
    while True:
        page = client.events({**filters, "cursor": cursor, "limit": str(PAGE)})
        yield from page["events"]
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):  # policies_evaluated: name:stage:result;...
        return ";".join(
            f"{p.get('name')}:{p.get('stage')}:{p.get('result')}"
            for p in value
            if isinstance(p, dict)
        )
    if value is None:
        return ""
    if isinstance(value, bool):  # as in the JSON lines, not Python's True/False
        return "true" if value else "false"
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # a spreadsheet would run it (`x-request-id: =HYPERLINK(...)` is the caller's choice)
        return "'" + value
    return value


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
