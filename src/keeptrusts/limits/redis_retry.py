"""Calls the Redis backend sends again once Redis answers: the undo of what a failure left.

While Redis is unreachable, a settlement or the release of a parallel slot cannot land, and
after a stall Redis may still run an acquire whose caller gave up. `Retries` keeps such calls
(bounded) and sends them again every `interval` until they land or their deadline passes.
Only idempotent calls are kept: a settlement (recorded per reservation id) and a slot release
(a set removal). The deadline stays inside the lease that makes the call idempotent, so a
call that did land before its failure was reported is never applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from keeptrusts.limits.backend import LimitsUnavailable

#: calls kept at most (beyond: their leases expire by themselves)
MAX_PENDING = 10_000
#: calls sent again at once
BATCH = 64

Run = Callable[[str, list[str], list[Any]], Awaitable[Any]]


@dataclass(slots=True)
class Pending:
    """A call to send again until `until` (monotonic seconds)."""

    script: str
    keys: list[str]
    args: list[Any]
    until: float


class Retries:
    """`add` a failed call; a background task sends it again through `run` until it lands."""

    def __init__(self, run: Run, down: Callable[[], bool], interval: float) -> None:
        self._run = run
        self._down = down
        self.interval = interval
        #: (script, first key, lease) -> the call
        self.pending: dict[tuple[str, str, str], Pending] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, script: str, keys: list[str], args: list[Any], lease: str, until: float) -> None:
        if len(self.pending) >= MAX_PENDING:
            return
        self.pending[(script, keys[0], lease)] = Pending(script, keys, args, until)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while self.pending:
            await asyncio.sleep(self.interval)
            await self.once()

    async def once(self) -> None:
        """Send the pending calls again; those that land (or fail for good) or expire go."""
        now = time.monotonic()
        for key in [k for k, p in self.pending.items() if p.until < now]:
            del self.pending[key]
        items = list(self.pending.items())
        for i in range(0, len(items), BATCH):
            if self._down():
                return
            batch = items[i : i + BATCH]
            results = await asyncio.gather(
                *(self._run(p.script, p.keys, p.args) for _, p in batch), return_exceptions=True
            )
            for (key, _), res in zip(batch, results, strict=True):
                if not isinstance(res, LimitsUnavailable):
                    self.pending.pop(key, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
