"""A batch the API refuses (400, 413, 422: its content is bad) is split until the events the API
refuses on their own are found; those are dropped and counted, everything else is delivered in
order, and delivery goes on. Any other failure (5xx, 401, 429, no answer) is an outage: nothing
is dropped, the batch is kept and retried.

Before: one event the API could not store made every POST of its batch fail, the batch was
retried forever from the spool (across restarts), and nothing newer was ever delivered."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from keeptrusts.events.sinks import ApiSink, Outcome
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN
from tests.events.fakeapi import FakeEventsApi
from tests.events.test_pipeline import pipeline, sample, stored_ids

SECRET = "request-id-that-must-not-be-logged"


def poison(i: int) -> dict[str, Any]:
    """An event `kt api run` refuses with 422 (`events[i].timestamp`)."""
    return {**make_event(i), "timestamp": "not a time", "request_id": SECRET}


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and "refused decision event" in r.getMessage()
    ]


async def test_a_refused_event_in_a_batch_from_memory_is_dropped(
    make_api: ApiFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = make_api().start()
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)  # batch_size 50
    await p.start()
    good = [make_event(i) for i in range(80)]
    bad = poison(1000)
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        for e in [*good[:30], bad, *good[30:]]:
            p.enqueue(e)
        assert await p.wait_drained(10)
        assert await stored_ids(api) == [e["id"] for e in good]
        more = [make_event(100 + i) for i in range(5)]
        for e in more:  # delivery goes on
            p.enqueue(e)
        assert await p.wait_drained(10)
    assert await stored_ids(api) == [e["id"] for e in good + more]
    assert sample(m, "keeptrusts_events_dropped_total") == 1
    assert sample(m, "keeptrusts_events_sent_total", sink="api") == 85
    assert sample(m, "keeptrusts_events_retried_total") == 0  # a refusal is not an outage
    assert p.depth() == {"queue": 0, "spool": 0}
    [line] = refusal_lines(caplog)
    assert bad["id"] in line and "HTTP 422" in line
    assert SECRET not in caplog.text and "not a time" not in caplog.text
    await p.close(2.0)


async def test_refused_events_in_the_spool_are_dropped_after_an_outage(
    make_api: ApiFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = make_api()  # down: everything goes to the spool
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    good = [make_event(i) for i in range(150)]
    bad = [poison(1000), poison(1001)]
    for e in [*good[:10], bad[0], *good[10:120], bad[1], *good[120:]]:
        p.enqueue(e)
    for _ in range(100):
        if p.depth()["spool"] == 152:
            break
        await asyncio.sleep(0.05)
    assert p.depth() == {"queue": 0, "spool": 152}
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        await asyncio.to_thread(api.start)
        more = [make_event(200 + i) for i in range(10)]
        for e in more:  # newer events wait behind the replay, then follow it
            p.enqueue(e)
        assert await p.wait_drained(20)
    assert await stored_ids(api) == [e["id"] for e in good + more]
    assert sample(m, "keeptrusts_events_dropped_total") == 2
    assert p.depth() == {"queue": 0, "spool": 0}
    assert len(refusal_lines(caplog)) == 1  # throttled: the first one by id, then counted
    assert bad[0]["id"] in refusal_lines(caplog)[0]
    assert SECRET not in caplog.text
    await p.close(2.0)


async def test_a_refused_event_left_in_the_spool_by_a_previous_run_is_dropped(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api()
    first = pipeline(api.url, tmp_path / "spool")
    await first.start()
    good = [make_event(i) for i in range(60)]
    for e in [*good[:20], poison(1000), *good[20:40]]:
        first.enqueue(e)
    await first.close(1.0)  # the API is down: all of it spooled
    assert first.depth()["spool"] == 41
    await asyncio.to_thread(api.start)
    m = Metrics()
    second = pipeline(api.url, tmp_path / "spool", m)
    await second.start()
    for e in good[40:]:
        second.enqueue(e)
    assert await second.wait_drained(20)
    assert await stored_ids(api) == [e["id"] for e in good]
    assert sample(m, "keeptrusts_events_dropped_total") == 1
    await second.close(2.0)


@pytest.mark.parametrize("status", [500, 503, 401, 404, 409, 429])
async def test_a_batch_that_fails_otherwise_is_kept_not_dropped(
    status: int, tmp_path: Path
) -> None:
    """A 5xx for the same batch every time stays an outage (the control plane answers 422 for
    events it cannot store); so do a token refused, a wrong URL, and 'try later'."""
    events = [make_event(i) for i in range(10)]
    api = await FakeEventsApi(statuses={events[4]["id"]: status}).start()
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    try:
        for e in events:
            p.enqueue(e)
        for _ in range(100):
            if p.depth()["spool"] == 10 and api.refusals >= 2:
                break
            await asyncio.sleep(0.05)
        await p.close(1.0)
        assert p.depth()["spool"] == 10 and api.ids == []
        assert sample(m, "keeptrusts_events_dropped_total") == 0
        assert sample(m, "keeptrusts_events_retried_total") >= 1
        api.statuses.clear()  # fixed: the same spool is delivered in full
        again = pipeline(api.url, tmp_path / "spool")
        await again.start()
        assert await again.wait_drained(10)
        await again.close(2.0)
    finally:
        await api.stop()
    assert api.ids == [e["id"] for e in events]


async def test_a_batch_too_large_for_the_api_is_split_not_dropped(tmp_path: Path) -> None:
    api = await FakeEventsApi(max_events=8).start()  # 413 for more than 8 events
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    events = [make_event(i) for i in range(90)]
    try:
        for e in events:
            p.enqueue(e)
        assert await p.wait_drained(10)
        await p.close(2.0)
    finally:
        await api.stop()
    assert api.ids == [e["id"] for e in events]
    assert sample(m, "keeptrusts_events_dropped_total") == 0


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, Outcome.REFUSED), (413, Outcome.REFUSED), (422, Outcome.REFUSED)]
    + [(s, Outcome.FAILED) for s in (401, 403, 404, 405, 408, 409, 425, 429, 500, 502, 503)],
)
async def test_the_api_sink_tells_a_refusal_from_an_outage(status: int, outcome: Outcome) -> None:
    event = make_event(1)
    api = await FakeEventsApi(statuses={event["id"]: status}).start()
    sink = ApiSink(api.url, TOKEN, 2.0)
    try:
        result = await sink.deliver([orjson.dumps(event)])
    finally:
        await sink.close()
        await api.stop()
    assert result.outcome is outcome
    assert result.status == (status if outcome is Outcome.REFUSED else None)
