"""The decision-event pipeline: enqueue on the request path, deliver in the background.

    enqueue(event) ──> memory queue ──(batch_size | flush_interval)──> local sinks (stdout, file)
                            │                                      └──> ApiSink ──ok──> done
                            │ > 2 batches, or a slow POST: in order         │ failed / slow
                            ▼                                               ▼
                         spool (SQLite, on disk, ordered by seq) <──────────┘
                            └──(API back: oldest first, before anything newer)──> ApiSink

Every event gets a sequence number when it is enqueued. The spool is ordered by it, and the
memory queue is only sent while the spool is empty, so the API receives events in enqueue order
(each at least once; the API deduplicates by id). What only memory holds stays small, so a kill
loses little even while the API is slow: more than `2 * batch_size` waiting events go to the
spool, and while a POST is unanswered after `flush_interval_seconds`, its batch is copied to the
spool and the waiting events are moved there every flush interval (as during an outage). Each
event reaches the local sinks exactly once, when it leaves the memory queue. All blocking I/O
(spool, local sinks) runs on one worker thread, in submission order; `enqueue` itself never
blocks and never does I/O.

A batch the API *refuses* (it answers that the content is bad: 400, 413, 422) is not an outage:
it is split in halves, and theirs, until the events it refuses on their own are found; those
are dropped (counted, logged by id) and the rest delivered, so one event the API cannot store
never holds up the ones after it. Any other failure is an outage: the batch is kept and retried.
A spool write that fails (a full disk) puts its events back in memory, which then holds up to
`queue_size`; the spool is tried again every flush interval. The writes themselves (spool,
local sinks, on the I/O thread) are `keeping.py`'s; the POSTs and their answers `delivery.py`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from keeptrusts.config.model import Events
from keeptrusts.events.backoff import Backoff
from keeptrusts.events.delivery import Delivering
from keeptrusts.events.keeping import Item
from keeptrusts.events.sinks import (
    FAILED,
    ApiSink,
    FileSink,
    LocalSink,
    Outcome,
    StdoutSink,
)
from keeptrusts.events.spool import Spool
from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.throttle import LogThrottle

log = logging.getLogger("keeptrusts.events")

DEFAULT_EVENTS_FILE = "keeptrusts-events.jsonl"
#: seconds between repeated "events lost" errors
LOSS_LOG_INTERVAL = 10.0


def _noop() -> None:
    return None


def default_spool_dir() -> str:
    return os.path.join(tempfile.gettempdir(), "keeptrusts-spool")


class EventPipeline(Delivering):
    """Batches, delivers, spools and replays decision events for one gateway process."""

    def __init__(
        self,
        settings: Events,
        metrics: Metrics,
        *,
        api_url: str | None,
        token: str | None,
        spool_dir: str | None,
        gateway_id: str,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.gateway_id = gateway_id
        self.remote: ApiSink | None = None
        if api_url and "api" in settings.sinks:
            self.remote = ApiSink(api_url, token, settings.delivery_timeout_seconds)
        self.local: list[LocalSink] = []
        if "stdout" in settings.sinks:
            self.local.append(StdoutSink())
        if "file" in settings.sinks:
            self.local.append(FileSink(settings.file or DEFAULT_EVENTS_FILE))
        self.discard = self.remote is None and not self.local
        directory = spool_dir or settings.spool_dir or default_spool_dir()
        self.spool = Spool(directory, settings.spool_max_bytes, metrics) if self.remote else None
        self._mem: deque[Item] = deque()
        #: memory holds at most this many events; beyond it they all move to the spool
        self._low_water = min(settings.queue_size, 2 * settings.batch_size)
        self._spool_ok = True  # the last spool write worked (if not, memory holds queue_size)
        self._spool_retry_at = 0.0  # loop time: when to try the spool again after a failure
        self._loss_log = LogThrottle(LOSS_LOG_INTERVAL)
        self._write_log = LogThrottle(LOSS_LOG_INTERVAL)
        self._spool_error = "EVENT SPOOL WRITE FAILED"
        self._refusal_log = LogThrottle(LOSS_LOG_INTERVAL)
        mem = self._mem
        self.metrics.events_queue_depth.set_function(lambda: len(mem))  # read at scrape time
        self._seq = 0
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kt-events-io")
        self._pending_spills = 0
        self._inflight: list[Item] = []
        self._backoff = Backoff()
        self._failing_since: float | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._closed = False

    # -- public API ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.spool is not None:
            await self._open_spool(self.spool)
            self._seq = max(self._seq, self.spool.last_seq)
        if not self.discard:
            self._task = asyncio.create_task(self._run(), name="keeptrusts-events")
        where = self.remote.url if self.remote else "nowhere (no KEEPTRUSTS_API_URL)"
        log.info(
            "decision events: api=%s local=%s spool=%s",
            where,
            [s.name for s in self.local],
            self.spool.path if self.spool else None,
        )

    def enqueue(self, event: dict[str, Any]) -> None:
        """Hand over one event. Never blocks, never does I/O, never raises for a full queue."""
        if self.discard:
            self.metrics.events_sent.labels("discard").inc()
            return
        if self._closed:
            self.metrics.events_dropped.inc()
            log.error(
                "decision event %s enqueued after the pipeline closed; dropped", event.get("id")
            )
            return
        self._seq += 1
        self._mem.append((self._seq, event))
        waiting = len(self._mem)
        if waiting > self._low_water and self._spool_ok and self._loop is not None:
            # keep the order: the whole queue (older first) goes to the spool, not just the newest
            overflow = list(self._mem)
            self._mem.clear()
            self._spill_soon(overflow)
        elif waiting > self.settings.queue_size and not self._spool_ok:
            # the spool cannot be written (it is tried again in the background): memory is full
            self._mem.pop()
            self._lost(1, self._full_memory())
        elif waiting >= self.settings.batch_size:
            self._wake.set()

    @property
    def failing_since(self) -> float | None:
        """`time.monotonic()` when delivery to the control-plane API started failing (the
        first failed POST since the last delivered one); None while it works (for /health)."""
        return self._failing_since

    def depth(self) -> dict[str, int]:
        """For /health: events waiting in memory and on disk."""
        return {"queue": len(self._mem), "spool": self.spool.count if self.spool else 0}

    async def wait_drained(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until nothing is queued or spooled (tests, and drain logs)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            idle = not self._mem and not self._inflight and not self._pending_spills
            if idle and not self._spool_has_data():
                return True
            await asyncio.sleep(0.02)
        return False

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Deliver what can be delivered within `timeout`, spool the rest, release files."""
        if self._closing:
            return
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), max(0.1, timeout * 0.8))
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await self._final_flush(deadline)
        self._closed = True
        await self._io_call(self._close_files)
        if self.remote is not None:
            await self.remote.close()
        self._io.shutdown(wait=True)
        left = self.spool.count if self.spool else 0
        if left:
            log.warning("decision events: %d spooled on disk for the next start", left)

    # -- background loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.remote is not None and self._spool_has_data():
                    await self._replay_step(self.remote)
                    continue
                batch = await self._take_batch()
                if batch:
                    await self._ship(batch)
                if not self._spool_ok and len(self._mem) > self._low_water:
                    await self._spill_memory()  # tried at most once per flush interval
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("decision-event pipeline step failed; retrying")
                await self._pause(1.0)

    async def _take_batch(self) -> list[Item]:
        if len(self._mem) < self.settings.batch_size:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.flush_interval_seconds)
        if self.remote is not None and self._spool_has_data():
            return []  # older events are on disk: they go first
        n = min(self.settings.batch_size, len(self._mem))
        batch = [self._mem.popleft() for _ in range(n)]
        return batch

    async def _ship(self, batch: list[Item]) -> None:
        self._inflight = batch
        rows, fresh = self._encode(batch)
        if self.local and fresh:
            await self._io_call(self._write_local, fresh)
        if self.remote is None:
            self._inflight = []
            return
        result, on_disk = await self._post(self.remote, rows, from_memory=True)
        left = await self._settle(self.remote, rows, result, on_disk=on_disk)
        self._inflight = []
        if not left:
            return
        self.metrics.events_retried.inc()
        if not on_disk:  # already written to the local sinks
            await self._spill_now(list(left))
        await self._outage()

    async def _replay_step(self, remote: ApiSink) -> None:
        assert self.spool is not None
        rows = await self._io_call(self.spool.read, self.settings.batch_size)
        if not rows:
            return  # only pending spills: the next read sees them (same I/O thread, FIFO)
        result, _ = await self._post(remote, rows, from_memory=False)
        if await self._settle(remote, rows, result, on_disk=True):
            self.metrics.events_retried.inc()
            await self._outage()

    # -- closing -------------------------------------------------------------------------------

    async def _final_flush(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        await self._io_call(_noop)  # a copy of the in-flight batch may still be being written
        if self._inflight:  # the loop was cancelled mid-delivery: keep that batch
            self._mem.extendleft(reversed(self._inflight))
            self._inflight = []
        while self._mem and loop.time() < deadline - 0.1:
            if self.remote is not None and self._spool_has_data():
                break  # older events wait on disk; newer ones join them there
            n = min(self.settings.batch_size, len(self._mem))
            rows, fresh = self._encode([self._mem.popleft() for _ in range(n)])
            if self.local and fresh:
                await self._io_call(self._write_local, fresh)
            if self.remote is None:
                continue
            try:
                result = await asyncio.wait_for(
                    self._deliver(self.remote, rows), max(0.1, deadline - loop.time())
                )
            except TimeoutError:
                result = FAILED
            if result.outcome is not Outcome.DELIVERED:  # a refused one is split after a restart
                await self._spill_now(list(rows))
                break
            self._sent(len(rows))
        await self._spill_memory(force=True)
        if self._mem:  # the spool cannot be written: nowhere left to keep them
            self._lost(len(self._mem), f"{self._spool_error} at shutdown")
            self._mem.clear()

    def _close_files(self) -> None:
        for sink in self.local:
            sink.close()
        if self.spool is not None:
            self.spool.close()
