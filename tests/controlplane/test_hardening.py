"""Hostile input to the control-plane API, and secrets in `--database` URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory, api_for_module
from tests.controlplane.servers import ApiServer, free_port

SECRET = "Pg5ecretPass"


def policy_event(i: int, *names: str) -> dict[str, Any]:
    event = make_event(i)
    event["policies_evaluated"] = [
        {"name": n, "stage": "request", "result": "allow", "reason_code": None, "latency_ms": 1}
        for n in names
    ]
    return event


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def empty(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """One API per backend for the module's tests that only read: its store stays empty."""
    yield from api_for_module(request, tmp_path_factory, "hardening")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cursor", "²"),
        ("limit", "²"),
        ("cursor", "٣"),  # ARABIC-INDIC DIGIT THREE: isdigit(), int() reads it
        ("cursor", "1" + "0" * 20),
        ("cursor", str(2**63)),
        ("cursor", "9" * 5000),
        ("limit", "9" * 5000),
        ("cursor", " 1"),
    ],
)
def test_malformed_numbers_get_a_4xx_envelope(empty: ApiServer, name: str, value: str) -> None:
    r = empty.get("/v1/events", **{name: value})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert (err["type"], err["code"]) == ("validation_error", "invalid_request")
    assert err["message"].startswith(name) and len(err["message"]) < 200
    assert "Traceback" not in empty.logs() and "internal error" not in empty.logs()


def test_largest_cursor_is_accepted(empty: ApiServer) -> None:
    r = empty.get("/v1/events", cursor=str(2**63 - 1))
    assert r.status_code == 200 and r.json()["events"] == []


def test_policy_filter_is_literal(api: ApiServer) -> None:
    events = [
        policy_event(0, "dlp-filter"),
        policy_event(1, "odd_name"),
        policy_event(2, "pct%name"),
        policy_event(3, "back\\slash"),
    ]
    api.post_events(events)

    def ids_of(policy: str) -> list[str]:
        return [e["id"] for e in api.all_events(policy=policy)]

    for wildcard in ("%", "_", "dlp_filter", "dlp%", "odd%", "%name", "back_slash", "\\"):
        assert ids_of(wildcard) == [], wildcard
    assert ids_of("dlp-filter") == [events[0]["id"]]
    assert ids_of("odd_name") == [events[1]["id"]]
    assert ids_of("pct%name") == [events[2]["id"]]
    assert ids_of("back\\slash") == [events[3]["id"]]


def chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = b"a" * size
    sent = 0
    while sent < total:
        yield block[: min(size, total - sent)]
        sent += size


def test_body_over_the_limit_is_request_too_large(make_api: ApiFactory) -> None:
    api = make_api().start()
    r = httpx.post(
        api.url + "/v1/events",
        content=chunks(64 * 1024 * 1024 + 1),
        headers={**api.headers(), "Content-Length": str(64 * 1024 * 1024 + 1)},
        timeout=60,
    )
    assert r.status_code == 413
    err = r.json()["error"]
    assert (err["type"], err["code"]) == ("validation_error", "request_too_large")


def run_api(database: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env["KEEPTRUSTS_API_TOKENS"] = "t"
    cmd = [sys.executable, "-m", "keeptrusts", "api", "run"]
    cmd += ["--listen", f"127.0.0.1:{free_port()}", "--database", database]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "query",
    [f"?password={SECRET}", f"?sslmode=disable&password={SECRET}", f"?PassWord={SECRET}"],
)
def test_database_password_in_the_query_is_never_printed(query: str) -> None:
    url = f"postgresql://kt@127.0.0.1:{free_port()}/kt{query}"  # nothing listens there
    done = run_api(url)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "cannot open database" in out and "=***" in out
    assert SECRET not in out


@pytest.mark.parametrize(
    "url",
    [f"mysql://kt:{SECRET}@db/kt", f"redis://:{SECRET}@h/0", f"mysql://h/db?password={SECRET}"],
)
def test_unsupported_database_scheme_is_a_clear_error(url: str) -> None:
    done = run_api(url)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "unsupported scheme" in out and "sqlite:///PATH or postgresql://" in out
    assert SECRET not in out and "Traceback" not in out
