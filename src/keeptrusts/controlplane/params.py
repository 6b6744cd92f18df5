"""The control-plane API's query parameters, checked: a bad one is a 422 naming it, never a
page that is empty because nothing could match, nor a database error."""

from __future__ import annotations

from typing import Any

from keeptrusts.controlplane.timeparse import parse_time
from keeptrusts.errors import ValidationFailed
from keeptrusts.pipeline.verdict import Result

#: cursors are 64-bit sequence numbers: at most 19 digits
MAX_CURSOR = 2**63 - 1
MAX_DIGITS = 19


def int_param(q: Any, name: str, default: int, low: int, high: int) -> int:
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    if not _digits(raw):
        raise ValidationFailed(f"{name}: {raw[:40]!r} is not a whole number", status=422)
    return max(low, min(high, int(raw)))


def cursor_param(raw: str | None) -> int | None:
    if not raw:
        return None
    if not _digits(raw) or int(raw) > MAX_CURSOR:
        raise ValidationFailed(
            f"cursor: {raw[:40]!r} is not a cursor this API returned", status=422
        )
    return int(raw)


def _digits(raw: str) -> bool:
    """ASCII digits only, and few enough for a 64-bit integer (`str.isdigit` also accepts
    `²` and other Unicode digits that `int()` refuses)."""
    return 0 < len(raw) <= MAX_DIGITS and raw.isascii() and raw.isdigit()


def time_param(q: Any, name: str) -> Any:
    raw = q.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise ValidationFailed(f"{name}: {exc}", status=422) from None


def filter_param(q: Any, name: str) -> str | None:
    """A filter value (`tenant=`, `policy=`...); empty means no filter. U+0000 is refused:
    no stored value holds it, and PostgreSQL cannot even compare text with it."""
    raw: str | None = q.get(name) or None
    if raw is not None and "\x00" in raw:
        raise ValidationFailed(f"{name}: must not contain U+0000 (NUL)", status=422)
    return raw


#: the decisions events carry, least severe first (`decision=` filters by one of them)
DECISIONS = tuple(r.value for r in Result)


def decision_param(q: Any) -> str | None:
    """`decision=`: one of the decisions events carry; anything else (`blocked`) is a 422, not
    a page that is empty because nothing can match."""
    raw = filter_param(q, "decision")
    if raw is not None and raw not in DECISIONS:
        raise ValidationFailed(
            f"decision: {raw[:40]!r} is not one of {', '.join(DECISIONS)}", status=422
        )
    return raw


def order_param(raw: str | None) -> bool:
    if raw in (None, "", "asc"):
        return False
    if raw == "desc":
        return True
    raise ValidationFailed(f"order: {raw!r} is not asc or desc", status=422)
