"""`kt events tail|export`: decision events from the control-plane API, in the shell.

`tail` prints the newest events (and with `-f` follows new ones, waiting out an API that
restarts); `export` pages through every matching event as JSON lines or CSV (cells that a
spreadsheet would run as formulas are neutralised). The API client is `cli_api.Client`.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

import orjson

from keeptrusts.cli_api import API_URL_HELP, TOKEN_HELP, ApiError, Client
from keeptrusts.pipeline.verdict import Result

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
FILTERS = ("since", "until", "tenant", "decision", "policy", "model", "gateway_id")


class OutputError(Exception):
    """The output file cannot be written; the message names it and says why."""


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
    """Write every matching event. The first page is fetched before anything is written, so a
    refused token or a wrong URL leaves no CSV header behind and no `--output` file cut short."""
    pages = iterate(client, filters)
    first = next(pages, None)
    events = pages if first is None else itertools.chain((first,), pages)
    if output is None:
        return _export_to(events, fmt, sys.stdout)
    try:
        with open(output, "w", newline="", encoding="utf-8") as out:
            return _export_to(events, fmt, out)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None


def _export_to(events: Iterator[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_FIELDS)
    n = 0
    for event in events:
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
