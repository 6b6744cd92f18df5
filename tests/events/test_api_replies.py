"""Only the control plane's own acknowledgement counts as delivered: a redirect (an auth proxy
sending the POST to a login page) or a 2xx that is not `{"accepted": n}` is a failed delivery,
so the batch is spooled and replayed once the real API answers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.events.fakeapi import FakeEventsApi
from tests.events.test_pipeline import pipeline, sample, stored_ids


@pytest.mark.parametrize("mode", ["302", "307", "html", "json"])
async def test_an_answer_that_is_not_the_control_plane_is_a_failed_delivery(
    mode: str, make_api: ApiFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = await FakeEventsApi(mode).start()
    m = Metrics()
    p = pipeline(proxy.url, tmp_path / "spool", m)
    await p.start()
    events = [make_event(i) for i in range(10)]
    try:
        with caplog.at_level(logging.ERROR, "keeptrusts.events"):
            for e in events:
                p.enqueue(e)
            for _ in range(100):
                if p.depth()["spool"] == 10:
                    break
                await asyncio.sleep(0.05)
            await p.close(1.0)
    finally:
        await proxy.stop()
    assert p.depth()["spool"] == 10  # nothing counted as delivered
    assert sample(m, "keeptrusts_events_sent_total", sink="api") == 0
    assert sample(m, "keeptrusts_events_retried_total") >= 1
    assert proxy.logins == 0  # the redirect was not followed
    if mode in ("302", "307"):
        assert f"redirect (HTTP {mode} to host 127.0.0.1)" in caplog.text
        assert "SECRET" not in caplog.text
    else:
        assert "without the expected acknowledgement" in caplog.text
    # the real API behind the same spool gets every event, in order
    api = make_api().start()
    again = pipeline(api.url, tmp_path / "spool")
    await again.start()
    assert await again.wait_drained(20)
    assert await stored_ids(api) == [e["id"] for e in events]
    await again.close(2.0)


async def test_a_real_control_plane_reply_is_accepted(make_api: ApiFactory, tmp_path: Path) -> None:
    """The check reads the reply of `kt api run` itself (`{"accepted": n, "inserted": k}`),
    including a batch whose ids the API already stored (inserted 0)."""
    api = make_api().start()
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    events = [make_event(i) for i in range(5)]
    for e in events + events:  # the second five are duplicates: accepted 5, inserted 0
        p.enqueue(e)
    assert await p.wait_drained(10)
    assert sample(m, "keeptrusts_events_sent_total", sink="api") == 10
    assert sample(m, "keeptrusts_events_retried_total") == 0
    assert await stored_ids(api) == [e["id"] for e in events]
    await p.close(2.0)
