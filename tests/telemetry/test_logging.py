"""JSON-lines logging, the access line (known fields only, no text) and secret masking."""

from __future__ import annotations

import io
import logging

import orjson
import pytest

from keeptrusts.pipeline.verdict import Result
from keeptrusts.telemetry.logging import (
    access_fields,
    access_log,
    mask_secret,
    parse_level,
    set_level,
    setup_logging,
)

REQUEST = {
    "request_id": "req-1",
    "trace_id": "0af7651916cd43dd8448eb211c80319c",
    "tenant": "team-a",
    "model": "gpt-4o-mini",
    "provider": "openai-primary",
    "decision": "redact",
    "status": 200,
    "latency_ms": 812.5,
    "overhead_ms": 0.42,
}


def lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in buf.getvalue().splitlines()]


def test_access_line_has_the_request_fields(out: io.StringIO) -> None:
    access_log(REQUEST)
    (line,) = lines(out)
    assert {k: line[k] for k in REQUEST} == REQUEST
    assert line["logger"] == "keeptrusts.access" and line["level"] == "info"
    assert isinstance(line["ts"], str) and line["ts"].endswith("Z")


def test_access_line_never_carries_text_or_keys(out: io.StringIO) -> None:
    secret = "sk-proj-" + "x" * 40
    access_log(
        {
            **REQUEST,
            "prompt": "my card is 4111 1111 1111 1111",
            "completion": "sure",
            "authorization": f"Bearer {secret}",
            "messages": [{"role": "user", "content": "hi"}],
            "policy": ["nested", "text"],
            "tenant": "t" * 1000,
        }
    )
    text = out.getvalue()
    for leaked in ("4111", "sure", secret, "content", "nested"):
        assert leaked not in text
    (line,) = lines(out)
    assert line["policy"] == "list"
    assert isinstance(line["tenant"], str) and len(line["tenant"]) <= 131


def test_access_fields_keeps_known_scalars_only() -> None:
    fields = access_fields({"status": 409, "stream": True, "cost_usd": None, "body": "x"})
    assert fields == {"status": 409, "stream": True, "cost_usd": None}


def test_access_fields_write_str_enums_as_their_value() -> None:
    fields = access_fields({"decision": Result.BLOCK, "status": 403})
    assert fields == {"decision": "block", "status": 403}
    assert type(fields["decision"]) is str


def test_level_controls_output(out: io.StringIO) -> None:
    setup_logging("warning", out)
    access_log(REQUEST)
    logging.getLogger("keeptrusts.x").info("quiet")
    logging.getLogger("keeptrusts.x").warning("loud %d", 1, extra={"target": "t1"})
    (line,) = lines(out)
    assert (line["msg"], line["level"], line["target"]) == ("loud 1", "warning", "t1")


def test_set_level_changes_level_in_place(out: io.StringIO) -> None:
    set_level("error")
    access_log(REQUEST)
    assert out.getvalue() == ""
    set_level("info")
    access_log(REQUEST)
    assert len(lines(out)) == 1


def test_exceptions_are_one_line(out: io.StringIO) -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("keeptrusts.x").exception("failed")
    (line,) = lines(out)
    assert "ValueError: bad" in str(line["exc"])


def test_parse_level() -> None:
    assert parse_level("DEBUG") == logging.DEBUG
    assert parse_level("warn") == logging.WARNING
    with pytest.raises(ValueError, match="not one of"):
        parse_level("loud")


def test_mask_secret() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    assert mask_secret(key) == "sk-...0123"
    assert mask_secret("short-secret") == "***"
    assert mask_secret("") == "" and mask_secret(None) == ""
