"""Time parameters: RFC 3339 (`2026-01-02T03:04:05Z`) or an age before now (`15m`, `1h`, `7d`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A timezone-aware UTC datetime; raises ValueError naming the accepted forms."""
    value = text.strip()
    age = value.removeprefix("-")
    if len(age) >= 2 and age[-1] in UNITS and age[:-1].isdigit():
        base = now or datetime.now(UTC)
        return base - timedelta(seconds=int(age[:-1]) * UNITS[age[-1]])
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use RFC 3339 (2026-01-02T03:04:05Z) "
            "or an age like 15m, 1h, 7d"
        ) from None


def parse_rfc3339(text: str) -> datetime:
    """An absolute time; a missing offset means UTC. Raises ValueError."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def text_utc(moment: datetime) -> str:
    """Fixed-width UTC text that sorts like the time (how SQLite stores timestamps)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
