"""Time parameters: RFC 3339 (`2026-01-02T03:04:05Z`) or an age before now (`15m`, `1h`, `7d`).

Every failure is a `ValueError` whose message says what is wrong, including times that parse
but fall outside what a `datetime` holds in UTC (years 1-9999): `0001-01-01T00:00:00+01:00` is
before year 1 in UTC, and `99999999999d` ago is too. Python raises `OverflowError` for those,
which the API would otherwise answer with a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: more digits than any age within the years 1-9999 needs (int() of a longer text is slow)
MAX_AGE_DIGITS = 20
RANGE = "outside the years 1-9999 in UTC"


class OutOfRange(ValueError):
    """A well-formed time that no `datetime` can hold."""


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """A timezone-aware UTC datetime; raises ValueError naming the accepted forms."""
    value = text.strip()
    age = value.removeprefix("-")
    digits, unit = age[:-1], age[-1:]
    if digits and unit in UNITS and digits.isascii() and digits.isdigit():
        return _before(text, digits, UNITS[unit], now or datetime.now(UTC))
    try:
        return parse_rfc3339(value)
    except OutOfRange:
        raise
    except ValueError:
        raise ValueError(
            f"{text[:40]!r} is not a time: use RFC 3339 (2026-01-02T03:04:05Z) "
            "or an age like 15m, 1h, 7d"
        ) from None


def _before(text: str, digits: str, unit: int, now: datetime) -> datetime:
    try:
        if len(digits) > MAX_AGE_DIGITS:
            raise OverflowError
        return now - timedelta(seconds=int(digits) * unit)
    except OverflowError:
        raise OutOfRange(f"{text[:40]!r} reaches back {RANGE}") from None


def parse_rfc3339(text: str) -> datetime:
    """An absolute time; a missing offset means UTC. Raises ValueError (OutOfRange when the
    text is well formed but its UTC time is before year 1 or after year 9999)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"{text[:40]!r} is {RANGE}") from None


def text_utc(moment: datetime) -> str:
    """Fixed-width UTC text that sorts like the time (how SQLite stores timestamps).

    `isoformat` always writes four year digits; `strftime("%Y")` writes `999` for year 999 on
    glibc, which would sort after `2026`."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"
