"""The state a rate limit or budget keeps, behind one interface (memory or Redis)."""

from __future__ import annotations

from typing import Protocol


class LimitBackend(Protocol):
    """Atomic check-and-update operations. Implementations: `memory.py`, `redis.py`."""

    name: str

    async def close(self) -> None: ...


class NullBackend:
    """Used when no policy needs shared state."""

    name = "memory"

    async def close(self) -> None:
        return None


def create_backend(kind: str, url: str | None, key_prefix: str) -> LimitBackend:
    return NullBackend()
