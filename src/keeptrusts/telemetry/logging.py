"""Structured logs: JSON lines (stdlib logging + orjson), and the one access line per request.

The access line carries identifiers and numbers only (request id, trace id, tenant, model, provider,
decision, status, latencies, tokens): `access_log` keeps the fields it knows, drops every other key
and clips strings, so prompt or completion text and keys cannot reach the log by accident.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys
import time
from collections.abc import Mapping
from typing import IO, Any, Final

import orjson

from keeptrusts.telemetry.linebatch import LineBatcher

ACCESS_LOGGER: Final = "keeptrusts.access"

#: The only keys an access line may carry.
ACCESS_FIELDS: Final = frozenset(
    {
        "request_id",
        "trace_id",
        "tenant",
        "model",
        "provider",
        "decision",
        "status",
        "latency_ms",
        "overhead_ms",
        "method",
        "path",
        "stream",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "config_version",
        "error_code",
        "policy",
        "attempts",
    }
)
_MAX_STR: Final = 128
_NO_LOCK: Final = contextlib.nullcontext()
_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_RESERVED: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_access = logging.getLogger(ACCESS_LOGGER)
#: The handler `setup_logging` installed: access lines are written to it directly, skipping
#: LogRecord creation and caller lookup (tens of microseconds) on the request path.
_handler: logging.StreamHandler[IO[str]] | None = None
_second: list[object] = [-1, ""]  # the last whole second formatted, and its text
#: the level `setup_logging` was given (`$KEEPTRUSTS_LOG_LEVEL`); `set_level(None)` returns to it
_start_level: list[int] = [logging.INFO]


def _write_lines(data: bytes) -> None:
    """Write encoded lines to the log handler's stream, bytes straight to its buffer if any."""
    handler = _handler
    if handler is None:
        return
    stream = handler.stream
    with handler.lock or _NO_LOCK, contextlib.suppress(OSError, ValueError):
        # a closed or broken log stream loses these lines, as logging's handlers do
        raw = getattr(stream, "buffer", None)
        if raw is None:
            stream.write(data.decode())
            stream.flush()
            return
        stream.flush()  # whatever the text layer holds goes first
        raw.write(data)
        raw.flush()


#: access lines wait here a few milliseconds and leave in one write
_batch = LineBatcher(_write_lines)
atexit.register(_batch.flush)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes waiting access lines before each record, in order."""

    def emit(self, record: logging.LogRecord) -> None:
        _batch.flush()
        super().emit(record)


def flush_access() -> None:
    """Write the access lines still waiting (called at shutdown; also runs at exit)."""
    _batch.flush()


def _timestamp(created: float) -> str:
    secs = int(created)
    if secs != _second[0]:
        _second[0], _second[1] = secs, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{_second[1]}.{int((created - secs) * 1000):03d}Z"


def _default(value: object) -> str:
    return repr(value)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ...extra fields, "exc"?}` as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=_default).decode()


def parse_level(level: str) -> int:
    try:
        return _LEVELS[level.strip().lower()]
    except KeyError:
        known = "|".join(k for k in _LEVELS if k != "warn")
        raise ValueError(f"log level {level!r} is not one of {known}") from None


def setup_logging(level: str = "info", stream: IO[str] | None = None) -> None:
    """Send every log record to `stream` (stderr) as JSON lines, at `level` and above.

    The access log follows the same level: at `warning` or above no access lines are written.
    """
    global _handler
    _batch.flush()
    handler: logging.StreamHandler[IO[str]] = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    _start_level[0] = parse_level(level)
    root.setLevel(_start_level[0])
    logging.captureWarnings(True)
    _handler = handler


def set_level(level: str | None) -> None:
    """Change the level of every logger at once (e.g. `logging.level` of a reloaded config);
    None: back to the start-up level (`$KEEPTRUSTS_LOG_LEVEL`, else info)."""
    logging.getLogger().setLevel(_start_level[0] if level is None else parse_level(level))


_SCALARS: Final = frozenset({int, float, bool, type(None)})


def access_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """The part of `fields` an access line may carry (known keys, scalar values, short strings)."""
    out: dict[str, object] = {}
    for key, value in fields.items():
        if key not in ACCESS_FIELDS:
            continue
        kind = type(value)
        if isinstance(value, str):  # str subclasses too (a StrEnum verdict is its value)
            text = value if kind is str else str(value)
            out[key] = text if len(text) <= _MAX_STR else text[:_MAX_STR] + "..."
        elif kind in _SCALARS:
            out[key] = value
        else:  # never a nested structure: it could hold text
            out[key] = kind.__name__
    return out


def access_log(fields: Mapping[str, object]) -> None:
    """Write one access line for a finished request (a no-op below the configured level)."""
    if not _access.isEnabledFor(logging.INFO):
        return
    if _handler is None:
        _access.info("access", extra=access_fields(fields))
        return
    line: dict[str, object] = {"ts": _timestamp(time.time()), "level": "info"}
    line["logger"] = ACCESS_LOGGER
    line["msg"] = "access"
    line.update(access_fields(fields))
    _batch.add(orjson.dumps(line, default=_default, option=orjson.OPT_APPEND_NEWLINE))


def mask_secret(secret: str | None) -> str:
    """A secret as safe to show: its first 3 and last 4 characters when long enough, else `***`."""
    if not secret:
        return ""
    if len(secret) < 20:
        return "***"
    return f"{secret[:3]}...{secret[-4:]}"
