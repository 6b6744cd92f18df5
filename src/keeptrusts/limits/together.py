"""Run a policy's backend calls together: `asyncio.gather(..., return_exceptions=True)`, cheaper.

Most configs have one rule per policy, so most checks are one call: it is awaited in place,
without the task `gather` would wrap it in (a task costs more than an in-memory check).
An exception is returned in the call's place, as `gather` does; cancellation propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def together(calls: list[Coroutine[Any, Any, T]]) -> list[T | BaseException]:
    if len(calls) != 1:
        return await asyncio.gather(*calls, return_exceptions=True)
    try:
        return [await calls[0]]
    except Exception as exc:
        return [exc]
