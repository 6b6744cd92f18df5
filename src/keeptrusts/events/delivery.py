"""The event pipeline's delivery side: POST a batch to the control plane and act on the answer.

`EventPipeline` (`pipeline.py`) decides what to send and when; this part sends it. While a POST
is slow, what only memory holds is copied to the spool every flush interval. A batch the API
*refuses* (400, 413, 422: the content is bad) is split in halves, and theirs, until the events
it refuses on their own are found; those are dropped (counted, logged by id) and the rest
delivered. Any other failure is an outage: new events go to the spool and the batch is retried
after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson

from keeptrusts.events.backoff import Backoff
from keeptrusts.events.keeping import Keeping, Row
from keeptrusts.events.sinks import FAILED, ApiSink, Delivery, Outcome
from keeptrusts.telemetry.throttle import LogThrottle

log = logging.getLogger("keeptrusts.events")


class Delivering(Keeping):
    """The control-plane side of `EventPipeline` (which sets these attributes)."""

    _refusal_log: LogThrottle
    _backoff: Backoff
    _failing_since: float | None
    _stop: asyncio.Event

    async def _post(
        self, remote: ApiSink, rows: list[Row], *, from_memory: bool
    ) -> tuple[Delivery, bool]:
        """POST a batch. While the API takes longer than a flush interval to answer, keep on
        disk what only memory holds: a copy of the batch itself (when it came from memory) and,
        every flush interval, the events waiting in memory. A kill during a slow POST then loses
        at most about a flush interval's worth. Returns (result, batch copied to the spool).
        """
        post = asyncio.ensure_future(self._deliver(remote, rows))
        flush = self.settings.flush_interval_seconds
        on_disk = False
        try:
            await asyncio.wait({post}, timeout=flush)
            if not post.done() and from_memory:
                on_disk = await self._io_call(self._spool_copy, rows)
            while not post.done():
                await self._spill_memory()
                await asyncio.wait({post}, timeout=flush)
            return post.result(), on_disk
        finally:
            post.cancel()  # a no-op once it is done; stops the POST if we were cancelled

    async def _settle(
        self, remote: ApiSink, rows: list[Row], result: Delivery, *, on_disk: bool
    ) -> list[Row]:
        """Act on the answer to the POST of `rows`. Delivered rows leave the spool (when it
        holds them). A refused batch is split in halves, sent first half first (the order
        holds), and so on down to single events: one the API refuses on its own is dropped.
        Returns the rows left undelivered when a POST failed (an outage), oldest first; none
        when every row was delivered or dropped. Rows are settled in order, so the spool's
        "delivered up to seq" floor stays true."""
        pending: list[list[Row]] = []  # parts still to send, the next one last
        part = rows
        while True:
            if result.outcome is Outcome.FAILED:
                return part + [row for later in reversed(pending) for row in later]
            if result.outcome is Outcome.DELIVERED:
                await self._settled(part, on_disk)
                self._sent(len(part))
            elif len(part) == 1:
                await self._settled(part, on_disk)
                self._refused(part[0], result.status)
            else:
                half = len(part) // 2
                pending += [part[half:], part[:half]]
            if not pending:
                return []
            part = pending.pop()
            result, _ = await self._post(remote, part, from_memory=False)

    async def _settled(self, rows: list[Row], on_disk: bool) -> None:
        if on_disk:
            await self._io_call(self._forget, rows)

    def _refused(self, row: Row, status: int | None) -> None:
        """An event the API refuses on its own (e.g. a value it cannot store) would be refused
        on every retry and hold up every event after it: it is dropped, counted, and logged by
        id only (its fields may be what the API objects to, and stay out of the log)."""
        self.metrics.events_dropped.inc()
        eid = event_id(row[1])
        dropped = self._refusal_log.due()
        if not dropped:
            log.debug("control-plane API refused decision event %s (HTTP %s)", eid, status)
            return
        log.error(
            "control-plane API refused decision event %s (HTTP %s); dropped so that later "
            "events are delivered (%d refused events dropped since the last such error, "
            "counted in keeptrusts_events_dropped_total; the API's log says why)",
            eid,
            status,
            dropped,
        )

    async def _deliver(self, remote: ApiSink, rows: list[Row]) -> Delivery:
        try:
            return await remote.deliver([body for _, body in rows])
        except Exception:  # a sink bug must not lose the batch: treat it as a failed delivery
            log.exception("event delivery to %s raised", remote.url)
            return FAILED

    async def _outage(self) -> None:
        """The API is down or slow: keep new events on disk, wait a backoff, then try again.
        (While the spool cannot be written, they stay in memory, up to queue_size, and the
        spool is tried again every flush interval.)"""
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        await self._spill_memory()
        delay = self._backoff.next()
        loop = asyncio.get_running_loop()
        until = loop.time() + delay
        while not self._stop.is_set() and loop.time() < until:
            await self._pause(min(self.settings.flush_interval_seconds, until - loop.time()))
            await self._spill_memory()

    def _sent(self, n: int) -> None:
        self._backoff.reset()
        self._failing_since = None
        self.metrics.events_sent.labels("api").inc(n)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), max(0.0, seconds))


def event_id(body: bytes) -> str:
    """The `id` of an encoded event, for a log line (nothing else of it is logged)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "(not JSON)"
    eid = doc.get("id") if isinstance(doc, dict) else None
    return repr(eid)[:80] if not isinstance(eid, str) else eid[:80]
