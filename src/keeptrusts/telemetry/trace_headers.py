"""Trace-context headers: W3C TraceContext (`traceparent`, `tracestate`) and B3 (single
`b3` and multi `x-b3-*`), read from the caller and written for the provider.

Parsing is strict and linear: fixed offsets, length checks and hex-set membership, no regex.
Invalid trace headers count as absent (a new trace starts) and are not forwarded.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Final

#: Trace-context headers this module reads and re-emits (all lower case).
TRACE_HEADERS: Final = (
    "traceparent",
    "tracestate",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
)
#: Headers passed to the provider unchanged, whatever the tracing mode.
OPAQUE_HEADERS: Final = ("baggage", "x-ot-span-context")

W3C: Final = 1
B3_SINGLE: Final = 2
B3_MULTI: Final = 4
_LOWER_HEX: Final = "0123456789abcdef"
_ANY_HEX: Final = "0123456789abcdefABCDEF"
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16
B3_FLAGS: Final = ("0", "1", "d")  # `b3: 0` and friends: a sampling decision with no ids
_B3_SAMPLED: Final = ("0", "1", "true", "false")  # `x-b3-sampled` values (true/false: legacy)
B3_MULTI_FLAGS: Final = ("x-b3-sampled", "x-b3-flags")
_ODD_HEX: Final = "13579bdf"  # flags whose low (sampled) bit is set
_MAX_HEADER: Final = 512  # longer trace headers are not trace context; W3C caps tracestate at 512


# --------------------------------------------------------------------------- header parsing


def header_lines(headers: Mapping[str, str], name: str) -> list[str]:
    """Every line of a header (aiohttp's headers keep repeated lines apart)."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        found: list[str] = getall(name, [])
        return found
    value = headers.get(name)
    return [] if value is None else [value]


def trim_tracestate(value: str) -> str:
    """`tracestate` within W3C's 512 characters: list members over 128 characters go first,
    then members from the end (W3C Trace Context, "tracestate limits")."""
    if len(value) <= _MAX_HEADER:
        return value
    members = [m.strip() for m in value.split(",") if m.strip()]
    members = [m for m in members if len(m) <= 128]
    while members and len(",".join(members)) > _MAX_HEADER:
        members.pop()
    return ",".join(members)


class Parent:
    """The caller's span: ids in lower-case hex (trace id padded to 32), and its sampling bits."""

    __slots__ = ("debug", "sampled", "span_id", "trace_id")

    def __init__(self, trace_id: str, span_id: str, sampled: bool, debug: bool = False) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.sampled = sampled
        self.debug = debug


def _is_hex(s: str, n: int, alphabet: str = _LOWER_HEX) -> bool:
    """`n` hex digits, not all zero (str.strip over a fixed alphabet: linear, no regex)."""
    return len(s) == n and not s.strip(alphabet) and bool(s.strip("0"))


def parse_traceparent(value: str) -> Parent | None:
    """`version-traceid-parentid-flags`; versions above 00 may append `-...` fields."""
    n = len(value)
    if n < 55 or n > _MAX_HEADER or value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    digits = value[:55].replace("-", "")
    if len(digits) != 52 or digits.strip(_LOWER_HEX) or value.startswith("ff"):
        return None
    if n > 55 and (value.startswith("00") or value[55] != "-"):
        return None
    trace_id, span_id = value[3:35], value[36:52]
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return Parent(trace_id, span_id, sampled=value[54] in _ODD_HEX)


def _b3_trace_id(value: str) -> str | None:
    value = value.lower()
    if len(value) == 16 and _is_hex(value, 16):
        return "0" * 16 + value
    return value if _is_hex(value, 32) else None


def parse_b3_single(value: str) -> Parent | None:
    """`traceid-spanid[-sampling[-parentspanid]]`; a lone sampling flag carries no ids (None)."""
    if len(value) > 100:
        return None
    parts = value.split("-", 4)
    if len(parts) < 2 or len(parts) > 4:
        return None
    trace_id = _b3_trace_id(parts[0])
    span_id = parts[1].lower()
    if trace_id is None or not _is_hex(span_id, 16):
        return None
    sampling = parts[2] if len(parts) > 2 else ""
    if sampling not in ("", "0", "1", "d"):
        return None
    if len(parts) == 4 and not _is_hex(parts[3], 16, _ANY_HEX):
        return None
    # An absent flag defers the decision to us: our sampler decides as for a sampled parent.
    return Parent(trace_id, span_id, sampled=sampling != "0", debug=sampling == "d")


def parse_b3_multi(headers: Mapping[str, str], trace_value: str) -> Parent | None:
    trace_id = _b3_trace_id(trace_value) if len(trace_value) <= 32 else None
    span_id = headers.get("x-b3-spanid", "").lower()
    if trace_id is None or not _is_hex(span_id, 16):
        return None
    debug = headers.get("x-b3-flags") == "1"
    sampled = headers.get("x-b3-sampled", "1").lower() not in ("0", "false")
    return Parent(trace_id, span_id, sampled=sampled or debug, debug=debug)


def b3_multi_flags_only(headers: Mapping[str, str], raw: dict[str, str]) -> bool:
    """`x-b3-sampled` / `x-b3-flags` without ids: a sampling decision alone, passed on as it
    came (into `raw`). Returns True for "not sampled" (B3's deny), which the gateway obeys."""
    sampled = headers.get("x-b3-sampled")
    debug = headers.get("x-b3-flags")
    if sampled is not None and sampled.lower() in _B3_SAMPLED:
        raw["x-b3-sampled"] = sampled
    if debug == "1":
        raw["x-b3-flags"] = debug
    return debug != "1" and sampled is not None and sampled.lower() in ("0", "false")


def new_trace_id() -> str:
    return "%032x" % (random.getrandbits(128) or 1)


def new_span_id() -> str:
    return "%016x" % (random.getrandbits(64) or 1)


# --------------------------------------------------------------------------- header formatting


def format_headers(
    formats: int, trace_id: str, span_id: str, parent_span_id: str | None, parent: Parent | None,
    sampled: bool, raw: Mapping[str, str],
) -> dict[str, str]:  # fmt: skip
    """Trace headers in each format the caller used, naming `span_id` as the provider's parent."""
    out: dict[str, str] = {}
    if formats & W3C or not formats:
        out["traceparent"] = f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"
        if "tracestate" in raw:
            out["tracestate"] = raw["tracestate"]
    if formats & (B3_SINGLE | B3_MULTI):
        b3_trace = trace_id[16:] if trace_id.startswith("0" * 16) else trace_id
        debug = parent is not None and parent.debug
        flag = "d" if debug else ("1" if sampled else "0")
        if formats & B3_SINGLE:
            suffix = f"-{parent_span_id}" if parent_span_id else ""
            out["b3"] = f"{b3_trace}-{span_id}-{flag}{suffix}"
        if formats & B3_MULTI:
            out["x-b3-traceid"] = b3_trace
            out["x-b3-spanid"] = span_id
            if parent_span_id:
                out["x-b3-parentspanid"] = parent_span_id
            out["x-b3-flags" if debug else "x-b3-sampled"] = "1" if debug else flag
    return out
