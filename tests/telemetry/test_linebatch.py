"""Access lines in batches: bounded by PIPE_BUF, written within the delay, never reordered."""

from __future__ import annotations

import asyncio
import io
import logging

import orjson

from keeptrusts.telemetry.linebatch import PIPE_BUF, LineBatcher
from keeptrusts.telemetry.logging import access_log, flush_access


def line(n: int, size: int = 100) -> bytes:
    return orjson.dumps({"n": n, "pad": "x" * size}) + b"\n"


def test_outside_a_loop_each_line_is_written_at_once() -> None:
    writes: list[bytes] = []
    batch = LineBatcher(writes.append)
    batch.add(line(1))
    batch.add(line(2))
    assert writes == [line(1), line(2)]


async def test_lines_wait_for_the_delay_and_leave_in_one_write() -> None:
    writes: list[bytes] = []
    batch = LineBatcher(writes.append, delay=0.01)
    for n in range(5):
        batch.add(line(n))
    assert writes == []
    await asyncio.sleep(0.05)
    assert writes == [b"".join(line(n) for n in range(5))]


async def test_no_write_exceeds_pipe_buf_and_no_line_is_split() -> None:
    writes: list[bytes] = []
    batch = LineBatcher(writes.append, delay=10)
    sent = [line(n, size=n * 37 % 900) for n in range(200)]
    for one in sent:
        batch.add(one)
    batch.flush()
    assert all(len(w) <= PIPE_BUF for w in writes)
    assert b"".join(writes) == b"".join(sent)
    assert all(w.endswith(b"\n") for w in writes)
    assert len(writes) < len(sent) // 4


async def test_a_line_longer_than_pipe_buf_is_written_alone() -> None:
    writes: list[bytes] = []
    batch = LineBatcher(writes.append, delay=10)
    batch.add(line(1))
    batch.add(line(2, size=PIPE_BUF + 10))
    batch.flush()
    assert writes == [line(1), line(2, size=PIPE_BUF + 10)]


async def test_other_records_write_waiting_access_lines_first(out: io.StringIO) -> None:
    access_log({"request_id": "r1", "status": 200})
    assert out.getvalue() == ""
    logging.getLogger("keeptrusts.x").warning("after")
    first, second = (orjson.loads(x) for x in out.getvalue().splitlines())
    assert (first["msg"], first["request_id"], second["msg"]) == ("access", "r1", "after")


async def test_flush_access_writes_what_waits(out: io.StringIO) -> None:
    access_log({"request_id": "r2", "status": 200})
    flush_access()
    assert orjson.loads(out.getvalue())["request_id"] == "r2"


async def test_a_closed_log_stream_loses_lines_without_raising(out: io.StringIO) -> None:
    access_log({"request_id": "r3", "status": 200})
    out.close()
    flush_access()  # from a timer or at exit: must not raise
    access_log({"request_id": "r4", "status": 200})
    flush_access()
