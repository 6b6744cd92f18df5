"""The event pipeline's keeping side: events leave memory for the spool and the local sinks.

`EventPipeline` (`pipeline.py`) decides when; this part does it. Every write runs on the
pipeline's single I/O thread, in submission order: the memory queue overflowing (more than
`2 * batch_size` waiting), a batch whose POST failed or is slow, shutdown. A spool write that
fails (a full disk) hands its events back to memory, which then holds up to `queue_size`
(older first); the spool is tried again every flush interval. Events are encoded only when
they leave memory (`_encode`), and reach the local sinks exactly once, then.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from keeptrusts.config.model import Events
from keeptrusts.events.sinks import ApiSink, LocalSink
from keeptrusts.events.spool import Spool
from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.throttle import LogThrottle

if TYPE_CHECKING:
    import sqlite3
else:
    from keeptrusts.events.lazy_sqlite import sqlite3

log = logging.getLogger("keeptrusts.events")

T = TypeVar("T")
#: an event in memory: as enqueued, or already encoded (put back after a spool write failed)
Item = tuple[int, dict[str, Any] | bytes]
Row = tuple[int, bytes]


class Keeping:
    """The spool and local-sink side of `EventPipeline` (which sets these attributes)."""

    settings: Events
    metrics: Metrics
    remote: ApiSink | None
    local: list[LocalSink]
    spool: Spool | None
    _mem: deque[Item]
    _spool_ok: bool
    _spool_retry_at: float
    _spool_error: str
    _loss_log: LogThrottle
    _write_log: LogThrottle
    _io: ThreadPoolExecutor
    _pending_spills: int
    _inflight: list[Item]
    _loop: asyncio.AbstractEventLoop | None

    async def _open_spool(self, spool: Spool) -> None:
        """Open the spool; never fail start-up. An unusable directory falls back to a fresh
        temp dir; if that fails too, the gateway runs without a spool (events the API does not
        take at once are counted as dropped)."""
        try:
            await self._io_call(spool.open)
            return
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            fallback = tempfile.mkdtemp(prefix="keeptrusts-spool-")
            log.error(
                "event spool %s unusable (%s); spooling to %s instead, which may not survive "
                "a restart",
                spool.directory,
                exc,
                fallback,
            )
            spool.directory = type(spool.directory)(fallback)
        try:
            await self._io_call(spool.open)
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            log.error(
                "EVENT SPOOL UNAVAILABLE (%s): running without one; decision events the API "
                "does not take at once are dropped and counted",
                exc,
            )
            self.spool = None

    def _spill_soon(self, items: list[Item]) -> asyncio.Future[list[Row]]:
        """Hand events to the spool (I/O thread). What it cannot write comes back to memory when
        the write is done, whoever waits for it (or not)."""
        loop = self._loop or asyncio.get_running_loop()
        self._pending_spills += 1
        fut = loop.run_in_executor(self._io, self._spill, items)
        fut.add_done_callback(self._spill_done)
        return fut

    async def _spill_now(self, items: list[Item]) -> None:
        """`_spill_soon`, and wait until it is done (a cancelled wait loses nothing)."""
        await asyncio.wait({self._spill_soon(items)})

    def _spill_done(self, fut: asyncio.Future[list[Row]]) -> None:
        self._pending_spills -= 1
        if fut.cancelled():
            return
        if fut.exception() is not None:
            log.error("spooling decision events failed", exc_info=fut.exception())
            return
        self._requeue(fut.result())

    async def _spill_memory(self, *, force: bool = False) -> None:
        """Move the events waiting in memory to the spool. While the spool cannot be written,
        try at most once per flush interval, with the oldest batch only (a failed write of a
        full queue costs ~2 ms per thousand events); a failed try puts them back. `force`
        (shutdown) tries with all of them at once."""
        if not self._mem:
            return
        if self._spool_ok or force:
            items = list(self._mem)
            self._mem.clear()
        elif self._now() < self._spool_retry_at:
            return
        else:  # once the spool takes these, the rest follows
            n = min(self.settings.batch_size, len(self._mem))
            items = [self._mem.popleft() for _ in range(n)]
        await self._spill_now(items)

    def _spill(self, items: list[Item]) -> list[Row]:
        """I/O thread: keep events on disk: events leaving memory without a delivery attempt
        (first written to the local sinks), or a batch whose POST failed. Returns those the
        spool could not take; they go back to memory."""
        rows, fresh = self._encode(items)
        if fresh:
            self._write_local(fresh)
        if self.remote is None:
            return []
        return self._spool_rows(rows)

    def _requeue(self, rows: list[Row]) -> None:
        """Loop thread: rows a spool write failed for go back to memory, encoded (they were
        written to the local sinks already). They are older than the events that arrived
        meanwhile, so they go in front, in sequence order; memory holds up to queue_size, and
        only the newest beyond it are lost. The spool is tried again a flush interval later."""
        if not rows:
            return
        self._spool_retry_at = self._now() + self.settings.flush_interval_seconds
        back: list[Item] = list(rows)
        if self._mem and self._mem[0][0] < back[-1][0]:  # two spills failed out of order
            merged = list(heapq.merge(back, self._mem, key=_seq_of))
            self._mem.clear()
            self._mem.extend(merged)
        else:
            self._mem.extendleft(reversed(back))
        excess = len(self._mem) - self.settings.queue_size
        if excess > 0:
            for _ in range(excess):
                self._mem.pop()
            self._lost(excess, self._full_memory())

    def _spool_copy(self, rows: list[Row]) -> bool:
        """I/O thread: a copy of the batch being POSTed. If it cannot be written, nothing is
        lost yet (the POST goes on, and a failed one is spooled as usual)."""
        if self.spool is None or not self.spool.fits(rows):
            return False
        try:
            self.spool.append(rows)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            self._spool_writable(False, exc)
            return False
        self._spool_writable(True)
        self._inflight = []  # the spool holds the batch now
        return True

    def _forget(self, rows: list[Row]) -> None:
        """I/O thread: delivered rows leave the spool (a failed delete is logged, not raised)."""
        if self.spool is not None:
            self.spool.remove(rows)

    def _encode(self, items: list[Item]) -> tuple[list[Row], list[Row]]:
        """Events as JSON, encoded when they leave memory (orjson's output keeps a buffer of a
        few KB each: bytes held in a long queue would cost far more memory than the dicts).
        Returns all rows, and those leaving memory for the first time, for the local sinks (a
        row put back after a failed spool write was written there already, and is compact). An
        event that cannot be encoded — a bug in the event builder — is counted and logged, and
        never stops the rest of its batch."""
        rows: list[Row] = []
        fresh: list[Row] = []
        for seq, event in items:
            if isinstance(event, bytes):
                rows.append((seq, event))
                continue
            try:
                row = (seq, orjson.dumps(event))
            except TypeError as exc:  # orjson.JSONEncodeError
                self.metrics.events_dropped.inc()
                log.error("decision event %s cannot be encoded; dropped: %s", event.get("id"), exc)
                continue
            rows.append(row)
            fresh.append(row)
        return rows, fresh

    def _spool_rows(self, rows: list[Row]) -> list[Row]:
        """I/O thread: append to the spool. Returns the rows it could not take because the write
        failed (e.g. a full disk): the caller puts them back in memory."""
        if self.spool is None:
            self._lost(len(rows), "no event spool")
            return []
        try:
            self.spool.append(rows)
        # e.g. the disk is full; a damaged file that could not be set aside or reopened
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            self._spool_writable(False, exc)
            if self._write_log.due():
                log.error(
                    "EVENT SPOOL WRITE FAILED (%s): decision events are kept in memory instead "
                    "(keeptrusts_events_queue_depth, up to events.queue_size=%d); the spool is "
                    "tried again every flush interval",
                    exc,
                    self.settings.queue_size,
                )
            # they go back to memory: copies without orjson's spare buffer (~8 KB each)
            return [(seq, bytes(memoryview(body))) for seq, body in rows]
        self._spool_writable(True)
        return []

    def _spool_writable(self, ok: bool, exc: Exception | None = None) -> None:
        """While the spool cannot be written (a full disk), memory holds up to queue_size events
        (a failed write puts its events back) rather than lose them; the spool is tried again
        every flush interval, and the next write that works restores the low bound."""
        self._spool_ok = ok
        if exc is not None:
            self._spool_error = f"EVENT SPOOL WRITE FAILED ({exc})"
            log.debug("event spool write failed: %s", exc)

    def _full_memory(self) -> str:
        return f"{self._spool_error} and memory holds events.queue_size={self.settings.queue_size}"

    def _lost(self, n: int, why: str) -> None:
        self.metrics.events_dropped.inc(n)
        lost = self._loss_log.due(n)
        if lost:
            log.error("%s: %d decision events lost (counted in events_dropped)", why, lost)

    def _write_local(self, rows: list[Row]) -> None:
        bodies = [body for _, body in rows]
        for sink in self.local:
            try:
                sink.write(bodies)
                self.metrics.events_sent.labels(sink.name).inc(len(bodies))
            except (OSError, ValueError) as exc:
                self.metrics.events_dropped.inc(len(bodies))
                log.error("event sink %s failed, %d events lost: %s", sink.name, len(bodies), exc)

    def _spool_has_data(self) -> bool:
        return self.spool is not None and (self._pending_spills > 0 or self.spool.count > 0)

    async def _io_call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, fn, *args)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()


def _seq_of(item: Item) -> int:
    return item[0]
