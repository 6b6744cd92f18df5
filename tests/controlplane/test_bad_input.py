"""Values the event store cannot hold get a 422 naming the field or parameter, never a 500.

One API per backend serves the whole module (each test uses its own ids and tenant), so the
many small cases stay fast; the module ends by checking that the API logged no traceback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from keeptrusts.controlplane.postgres_store import PostgresStore
from keeptrusts.controlplane.sqlite_store import SqliteStore
from keeptrusts.controlplane.store import EventRow, UnstorableBatch
from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import api_for_module
from tests.controlplane.servers import ApiServer, Postgres

MAX_BIGINT = 2**63 - 1


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    yield from api_for_module(request, tmp_path_factory, "bad-input")


def tenant() -> str:
    return "t-" + uuid.uuid4().hex[:12]


def event(**fields: Any) -> dict[str, Any]:
    return {**make_event(0), "tenant": fields.pop("tenant", tenant()), **fields}


def raw_post(api: ApiServer, events: list[dict[str, Any]]) -> httpx.Response:
    """orjson writes the integers up to 2^64-1 that the json module would also write."""
    body = orjson.dumps({"events": events})
    headers = {**api.headers(), "Content-Type": "application/json"}
    return httpx.post(api.url + "/v1/events", content=body, headers=headers, timeout=30)


def assert_refused(r: httpx.Response, name: str) -> str:
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert (err["type"], err["code"], err["policy"]) == (
        "validation_error",
        "invalid_request",
        None,
    )
    assert err["message"].startswith(name + ":"), err["message"]
    return str(err["message"])


def assert_batch_refused(api: ApiServer, bad: dict[str, Any], name: str) -> str:
    """`bad` second in a batch after a good event: the whole batch is refused."""
    good = event(tenant=bad["tenant"])
    message = assert_refused(raw_post(api, [good, bad]), f"events[1].{name}")
    assert api.all_events(tenant=bad["tenant"]) == []
    return message


# -- timestamps and ages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:59:59+01:00"]
)
def test_event_timestamp_outside_utc_years_is_refused(served: ApiServer, ts: str) -> None:
    message = assert_batch_refused(served, event(timestamp=ts), "timestamp")
    assert "years 1-9999" in message


def test_extreme_but_valid_timestamps_are_stored_and_sorted(served: ApiServer) -> None:
    t = tenant()
    early = event(tenant=t, timestamp="0001-01-01T01:00:00+01:00")  # year 1, 00:00 UTC
    old = event(tenant=t, timestamp="0999-06-01T00:00:00Z")
    late = event(tenant=t, timestamp="9999-12-31T22:59:59-01:00")
    assert raw_post(served, [early, old, late]).status_code == 200
    recent = served.all_events(tenant=t, since="2000-01-01T00:00:00Z")
    assert [e["id"] for e in recent] == [late["id"]]  # year 999 sorts before 2000 in SQLite too
    before = served.all_events(tenant=t, until="1000-01-01T00:00:00Z")
    assert [e["id"] for e in before] == [early["id"], old["id"]]


TIMES = [
    "99999999999d",
    "9999999999999999999s",
    "-99999999999w",
    "9" * 5000 + "s",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
]


@pytest.mark.parametrize("path", ["/v1/events", "/v1/reports/cost"])
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", TIMES, ids=lambda v: v[:30])
def test_times_out_of_range_are_a_422(served: ApiServer, path: str, name: str, value: str) -> None:
    message = assert_refused(served.get(path, **{name: value}), name)
    assert "years 1-9999" in message and len(message) < 200


# -- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("input_tokens", 2**63),
        ("input_tokens", 2**64 - 1),
        ("output_tokens", 2**63),
        ("input_tokens", -1),
        ("input_tokens", 1e19),  # orjson reads integers past 2^64-1 as floats
        ("status", 2**64 - 1),
        ("status", 2**31),  # a 32-bit column in PostgreSQL
        ("status", -1),
        ("cost_usd", 1e16),
        ("cost_usd", 2**64 - 1),
        ("cost_usd", -0.5),
    ],
)
def test_numbers_out_of_range_refuse_the_batch(served: ApiServer, name: str, value: Any) -> None:
    message = assert_batch_refused(served, event(**{name: value}), name)
    assert "from 0 to" in message


def test_largest_numbers_are_stored(served: ApiServer) -> None:
    big = event(input_tokens=MAX_BIGINT, output_tokens=MAX_BIGINT, status=2**31 - 1, cost_usd=1e15)
    assert raw_post(served, [big]).json() == {"accepted": 1, "inserted": 1}
    assert served.all_events(tenant=big["tenant"]) == [big]


def test_cost_report_sums_past_64_bits(served: ApiServer) -> None:
    t = tenant()
    big = {"input_tokens": MAX_BIGINT, "output_tokens": 0, "cost_usd": 1e15}
    events = [event(tenant=t, **big) for _ in range(3)]
    events.append(event(tenant=t, input_tokens=0, output_tokens=7, cost_usd=0))
    assert raw_post(served, events).status_code == 200
    r = served.get("/v1/reports/cost", tenant=t, group_by="tenant")
    assert r.status_code == 200, r.text
    report = r.json()
    (row,) = report["rows"]
    for summed in (row, report["total"]):
        assert summed["requests"] == 4
        assert summed["input_tokens"] == pytest.approx(3 * MAX_BIGINT)
        assert summed["output_tokens"] == 7 and isinstance(summed["output_tokens"], int)
        assert summed["cost_usd"] == pytest.approx(3e15)


def test_cost_report_sums_just_past_63_bits(served: ApiServer) -> None:
    t = tenant()
    events = [event(tenant=t, input_tokens=2**62 + 2**61) for _ in range(2)]
    assert raw_post(served, events).status_code == 200
    r = served.get("/v1/reports/cost", tenant=t, group_by="tenant,model")
    assert r.status_code == 200, r.text
    assert r.json()["total"]["input_tokens"] == pytest.approx(2 * (2**62 + 2**61))


# -- NUL characters ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["id", "gateway_id", "model", "provider", "decision"])
def test_nul_in_event_text_refuses_the_batch(served: ApiServer, name: str) -> None:
    message = assert_batch_refused(served, event(**{name: "a\x00b"}), name)
    assert "U+0000" in message


def test_nul_in_tenant_and_policy_names(served: ApiServer) -> None:
    t = "a\x00" + tenant()
    r = raw_post(served, [event(), event(tenant=t)])
    assert "U+0000" in assert_refused(r, "events[1].tenant")
    bad = event()
    bad["policies_evaluated"] = [{"name": "ok"}, {"name": "pii\x00"}]
    assert_batch_refused(served, bad, "policies_evaluated[1].name")


def test_nul_in_text_the_columns_do_not_hold_is_kept(served: ApiServer) -> None:
    ok = event(request_id="r\x00", trace_id="\x00")  # only in the body (JSON-escaped)
    assert raw_post(served, [ok]).status_code == 200
    assert served.all_events(tenant=ok["tenant"]) == [ok]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/events", "tenant"),
        ("/v1/events", "decision"),
        ("/v1/events", "policy"),
        ("/v1/events", "model"),
        ("/v1/events", "gateway_id"),
        ("/v1/reports/cost", "tenant"),
        ("/v1/reports/cost", "model"),
    ],
)
def test_nul_in_a_filter_is_a_422(served: ApiServer, path: str, name: str) -> None:
    assert "U+0000" in assert_refused(served.get(path, **{name: "a\x00b"}), name)
    assert "U+0000" in assert_refused(served.get(path, **{name: "\x00"}), name)


# -- the database's own refusal: the last line behind `event_row` ------------------------------


def row(**fields: Any) -> EventRow:
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "ts": datetime.now(UTC),
        "gateway_id": "gw",
        "tenant": "t",
        "model": None,
        "provider": None,
        "decision": None,
        "status": 200,
        "input_tokens": 1,
        "output_tokens": 1,
        "cost_usd": 0.0,
        "policies": "",
        "body": "{}",
    }
    return EventRow(**{**values, **fields})


async def refused(store: SqliteStore | PostgresStore, bad: EventRow) -> None:
    """`bad` after a good row: both refused, and the good one was not stored."""
    good = row()
    await store.open()
    try:
        with pytest.raises(UnstorableBatch):
            await store.insert_events([good, bad])
        assert await store.insert_events([good]) == 1
    finally:
        await store.close()


def test_sqlite_data_errors_become_unstorable_batch(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "kt.db"))
    asyncio.run(refused(store, row(input_tokens=2**64)))


@pytest.mark.parametrize(
    "bad", [{"tenant": "a\x00b"}, {"input_tokens": 2**63}, {"status": 2**31}], ids=str
)
def test_postgres_data_errors_become_unstorable_batch(
    postgres: Postgres, bad: dict[str, Any]
) -> None:
    store = PostgresStore(postgres.create_database())
    asyncio.run(refused(store, row(**bad)))


def test_an_unknown_decision_filter_is_a_422_not_an_empty_page(served: ApiServer) -> None:
    message = assert_refused(served.get("/v1/events", decision="blocked"), "decision")
    assert "is not one of allow, redact, escalate, block" in message
    assert served.get("/v1/events", decision="block").status_code == 200
